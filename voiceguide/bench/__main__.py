import sys

from voiceguide.bench.figures import main

sys.exit(main())
