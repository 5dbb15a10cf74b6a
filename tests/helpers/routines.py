"""Small routines written into a test's folder: quick to synthesize, the same shape everywhere."""

from __future__ import annotations

from pathlib import Path


def write_one_hold_routine(
    folder: Path,
    *,
    title: str = "Tiny routine",
    closing: str = "Done.",
    hold_s: int = 5,
    rest_s: int | None = 0,
    setup: str = "Sit down.",
) -> Path:
    """A routine of one hold exercise, left then right, one round: a few seconds of audio
    (minutes with ``--hold 600``). ``rest_s`` None leaves the rest to the routine's default.
    Returns the routine's file."""
    folder.mkdir(parents=True, exist_ok=True)
    routine = folder / "tiny.routine.yaml"
    routine.write_text(
        f"title: {title}\nexercises:\n  - tiny-hold\nclosing: {closing}\n", encoding="utf-8"
    )
    rest = "" if rest_s is None else f"rest_s: {rest_s}\n"
    (folder / "tiny-hold.yaml").write_text(
        "title: Tiny hold\n"
        "kind: hold\n"
        "sides: [left, right]\n"
        f"hold_s: {hold_s}\n"
        "rounds: 1\n"
        f"{rest}"
        "settle_s: 1\n"
        "switch_s: 1\n"
        f"setup: {setup}\n"
        "hold_cue: Hold.\n"
        "after: Release.\n",
        encoding="utf-8",
    )
    return routine
