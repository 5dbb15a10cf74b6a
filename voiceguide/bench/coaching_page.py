"""docs/coaching.md, made from real exports: what a listener hears at each verbosity, with
times, read from the timed lyrics (.lrc) that ``voiceguide export`` writes beside its MP3s.

    python -m voiceguide.bench.coaching_page docs/coaching.md

It exports the default routine with the default voice at each verbosity, and once with the
short introduction, into a temporary folder with empty config and data folders of its own
(so no saved preference or practice log changes what is heard), then writes the page. The
page is never written by hand: it says what the exports said.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Lyrics", "main", "page", "read_lyrics"]

_LINE = re.compile(r"^\[(\d+):(\d+(?:\.\d+)?)\](.*)$")
_TAG = re.compile(r"^\[(\w+):(.*)\]$")
LEVELS = ("minimal", "standard", "coach")


@dataclass(frozen=True)
class Lyrics:
    """One export's full-routine timed lyrics."""

    name: str  # what the export is: "standard", "standard, short introduction"
    command: str  # the export's command line
    length: str  # as the lyrics' [length:] tag says it (m:ss)
    lines: tuple[tuple[float, str], ...]  # (seconds from the start, what is heard)

    def first(self, text: str) -> float | None:
        """When ``text`` is first heard (None: never)."""
        return next((at for at, said in self.lines if said == text), None)


def read_lyrics(path: Path, name: str, command: str) -> Lyrics:
    """The timed lines of an .lrc file (its [mm:ss.xx] lines, in order)."""
    lines: list[tuple[float, str]] = []
    length = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        timed = _LINE.match(raw)
        if timed:
            lines.append((int(timed[1]) * 60 + float(timed[2]), timed[3]))
            continue
        tag = _TAG.match(raw)
        if tag and tag[1] == "length":
            length = tag[2]
    return Lyrics(name, command, length, tuple(lines))


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:05.2f}"


def _export(folder: Path, args: list[str]) -> Path:
    """Export the default routine with ``args`` into ``folder``; its full-routine lyrics."""
    env = {
        **os.environ,
        "VOICEGUIDE_CONFIG_DIR": str(folder / "config"),
        "VOICEGUIDE_DATA_DIR": str(folder / "data"),
    }
    out = folder / "audio"
    subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", *args, "-o", str(out)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return next(out.glob("* - full routine.lrc"))


def page(
    exports: list[Lyrics], first_title: str, first_step: str, made: str, shown: int | None = None
) -> str:
    """The page: a summary table of every export, then the lyrics of the first ``shown``
    (None: all; ``made``: when and with what)."""
    out = [
        "# What is heard, level by level",
        "",
        f"Every line a listener hears in the default routine (`outer-hip`, {made}),",
        "with its time in the full-routine track, at each verbosity (`--verbosity minimal`,",
        "`standard`, `coach`) and with the short introduction a returning listener gets",
        "(`--intro short`); the table adds the standard level at a slow and a fast `--pace`",
        "(the same words, more or less time to move). Sounds are in brackets (`[hold]`,",
        "`[release]`, `[switch sides]`, `[set done]`, `[done]`); the three numbers before a",
        "release are the countdown's blips; at minimal, `[hold]` also starts each squeeze.",
        "",
        "This page is made, not written: `python -m voiceguide.bench.coaching_page",
        "docs/coaching.md` exports the routine once per row below (with empty config and data",
        "folders, so no saved preference or practice log changes it) and copies the timed",
        "lyrics (`.lrc`) each export writes beside its MP3s. Make it again after changing a",
        "script, the compiler or the default voice. See [options](options.md) for the",
        "settings and [routines](routines.md) for what the article says.",
        "",
        "| export | length | first exercise | first movement asked |",
        "|---|---|---|---|",
    ]
    for lyrics in exports:
        title = lyrics.first(first_title)
        step = lyrics.first(first_step)
        out.append(
            f"| `{lyrics.command}` | {lyrics.length} | "
            f"{_clock(title) if title is not None else '-'} | "
            + (_clock(step) if step is not None else "not said (the time to move is kept)")
            + " |"
        )
    out += [
        "",
        f'"First exercise" is when "{first_title}" is said; "first movement asked" when "'
        f'{first_step}" is.',
    ]
    for lyrics in exports[:shown]:
        out += [
            "",
            f"## {lyrics.name.capitalize()}",
            "",
            f"`{lyrics.command}`: {len(lyrics.lines)} lines, {lyrics.length}.",
            "",
            "<details><summary>Every line, with its time</summary>",
            "",
            "```text",
            *(f"{_clock(at):>8}  {said}" for at, said in lyrics.lines),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m voiceguide.bench.coaching_page PAGE.md", file=sys.stderr)
        return 2
    from voiceguide.plan.parsing import DEFAULT_VOICE
    from voiceguide.routine import load_routine, resolve_routine

    routine = load_routine(resolve_routine(None))
    first = routine.exercises[0]
    first_step = next(p for p in first.setup.split("\n\n") if p.strip()).strip()
    runs = [(level, ["--verbosity", level]) for level in LEVELS]
    runs.append(("standard, short introduction", ["--intro", "short"]))
    shown = len(runs)  # the paces: in the table only (the words are the standard level's)
    runs += [(f"standard, {pace} pace", ["--pace", pace]) for pace in ("slow", "fast")]
    exports = []
    with tempfile.TemporaryDirectory(prefix="voiceguide-coaching-") as temp:
        for index, (name, options) in enumerate(runs):
            folder = Path(temp) / str(index)
            lrc = _export(folder, options)
            command = " ".join(["voiceguide", "export", *options])
            exports.append(read_lyrics(lrc, name, command))
    made = f"the default voice {DEFAULT_VOICE}, made {datetime.now(UTC):%Y-%m-%d}"
    text = page(exports, first.title + ".", first_step, made, shown)
    Path(args[0]).write_text(text, encoding="utf-8")
    print(f"wrote {args[0]}: {', '.join(f'{e.name} {e.length}' for e in exports)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
