"""Texts written as steps, each with time to do what it says, and the pronunciation lexicon
of a routine file.

A spoken text may be a list of steps instead of one text::

    setup:
      - say: Lie on your back with your knees bent.
        then_s: 4                  # quiet time to do it (0-60 s)
      - Place a small, soft ball between your knees.   # a step with no extra time
      - say: You can do up to 3 sets.
        when: sets <= 3            # said only when the exercise's sets compare so

Each step is a paragraph of the text (so every other check reads it as one text), and its
``then_s`` is the quiet after it (:data:`~voiceguide.routine.model.Steps`).
"""

from __future__ import annotations

import re
from typing import Any

from voiceguide.routine import fields
from voiceguide.routine.lexicon import Lexicon, lexicon_problem
from voiceguide.routine.model import THEN_LIMIT, Guard, Guards, Steps
from voiceguide.routine.source import SourceFile, field_name, shown

__all__ = ["lexicon", "steps_of"]


_GUARD = re.compile(r"\s*([a-z_]+)\s*(<=|>=|==|!=|<|>)\s*([0-9]+(?:\.[0-9]+)?)\s*")
_GUARD_NAMES = ("hold_s", "rounds", "reps", "sets", "rest_s", "work_s", "release_s")


def steps_of(
    src: SourceFile, keys: frozenset[str], guards: bool = False
) -> tuple[dict[str, Any], Steps, Guards]:
    """The file's fields with every text written as steps made one text (a paragraph per
    step), the quiet time after each paragraph, and (``guards``: an exercise's texts) the
    condition a paragraph is said on."""
    plain = dict(src.data)
    steps: list[tuple[str, tuple[float, ...]]] = []
    whens: list[tuple[str, tuple[Guard | None, ...]]] = []
    for key, value in src.data.items():
        if key not in keys or not isinstance(value, list):
            continue
        paragraphs: list[str] = []
        seconds: list[float] = []
        conditions: list[Guard | None] = []
        for index, item in enumerate(value):
            where, line = f"{key}[{index + 1}]", src.item_line(key, index)
            say, wait, when = item, 0, None
            if isinstance(item, dict):
                known = ("say", "then_s", "when") if guards else ("say", "then_s")
                for unknown in sorted(str(k) for k in item if k not in known):
                    src.report(
                        f"unknown field '{field_name(unknown)}' in a step (a step has "
                        + ("'say', 'then_s' and 'when')" if guards else "'say' and 'then_s')"),
                        where,
                        line=line,
                    )
                say, wait = item.get("say"), item.get("then_s", 0)
                if "when" in item and guards:
                    when = _guard(src, item["when"], f"{where}.when", line)
            if not isinstance(say, str) or not say.strip():
                src.report(
                    "a step must be a text, or a mapping of 'say' (the text) and "
                    f"'then_s' (seconds of quiet after it), got {shown(say)}",
                    where,
                    line=line,
                )
                continue
            number = fields.number(src, wait, THEN_LIMIT, f"{where}.then_s", line=line)
            parts = [p for p in re.split(r"\n\s*\n", say.strip()) if p.strip()]
            paragraphs += parts
            seconds += [0.0] * (len(parts) - 1) + [float(number or 0)]
            conditions += [when] * len(parts)
        plain[key] = "\n\n".join(paragraphs)
        if any(seconds):
            steps.append((key, tuple(seconds)))
        if any(c is not None for c in conditions):
            whens.append((key, tuple(conditions)))
    return plain, tuple(steps), tuple(whens)


def _guard(src: SourceFile, raw: object, where: str, line: int | None) -> Guard | None:
    """``sets <= 3``: a number of the exercise, a comparison, a number."""
    match = _GUARD.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or match.group(1) not in _GUARD_NAMES:
        src.report(
            f"must compare a number of the exercise ({', '.join(_GUARD_NAMES)}) with a number, "
            f"such as 'sets <= 3', got {shown(raw)}",
            where,
            line=line,
        )
        return None
    return Guard(match.group(1), match.group(2), float(match.group(3)))


def lexicon(src: SourceFile) -> Lexicon | None:
    """``lexicon: {piriformis: pirri-formiss}``: how the speech engine should say a word."""
    value = src.data.get("lexicon")
    if not isinstance(value, dict):
        src.report("must map a word to how to say it, e.g. {piriformis: pirri-formiss}", "lexicon")
        return None
    entries = []
    for word, respelling in value.items():
        problem = lexicon_problem(word, respelling)
        if problem is not None:
            src.report(problem, "lexicon")
            continue
        entries.append((str(word), str(respelling).strip()))
    return tuple(entries)
