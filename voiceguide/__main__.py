from voiceguide.cli.commands import main

main()
