"""Property-based tests (hypothesis): generated routines, as model objects for the compiler
and as YAML files (valid, broken and byte-mutated) for the loader.

For any input the result is a timeline or an :class:`~voiceguide.errors.InputError`, never
another exception, and every timeline keeps its invariants: events in order and contiguous,
every hold exactly its length between its start and end cues, every rep set exactly its
tempo, chapters and sections covering the timeline with no gaps or overlaps, and the total
equal to the last event's end.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceguide.errors import RoutineError, SettingsError
from voiceguide.export import safe_filename
from voiceguide.plan.catalog import OPTION_FIELDS
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.cues import Cue
from voiceguide.plan.settings import Settings, parse_override
from voiceguide.plan.timeline import Silence, Speech, Timeline, Tone
from voiceguide.routine import templates
from voiceguide.routine.checks import EXERCISE_TEXT
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import LIMITS, Exercise, ExerciseKind, Routine
from voiceguide.routine.text import speakable

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- the invariants


def assert_timeline_invariants(timeline: Timeline, routine: Routine) -> None:
    events = timeline.events
    assert events and events[0].start_ms == 0
    for before, after in itertools.pairwise(events):
        assert before.end_ms == after.start_ms, (before, after)
    for event in events:
        assert event.end_ms > event.start_ms, event
        if isinstance(event, Speech):
            assert speakable(event.text), event  # the engine is never asked for nothing
    assert timeline.total_ms == events[-1].end_ms
    for spans in (timeline.chapters, timeline.sections):  # cover it, no gaps or overlaps
        assert spans[0].start_ms == 0 and spans[-1].end_ms == timeline.total_ms
        for before, after in itertools.pairwise(spans):
            assert before.end_ms == after.start_ms
        assert all(s.end_ms > s.start_ms for s in spans)
    assert timeline.chapters[0].first_event == 0
    assert timeline.chapters[-1].end_event == len(events)
    for before, after in itertools.pairwise(timeline.chapters):
        assert before.end_event == after.first_event
    for chapter in timeline.chapters:
        inside = events[chapter.first_event : chapter.end_event]
        assert inside[0].start_ms == chapter.start_ms and inside[-1].end_ms == chapter.end_ms
    tones = {(e.start_ms, e.cue) for e in events if isinstance(e, Tone)}
    by_id = {e.id: e for e in routine.exercises}
    for before, after in itertools.pairwise(timeline.holds):
        assert before.end_ms < after.start_ms
    for hold in timeline.holds:  # exactly its length, between its start and end cues
        assert hold.end_ms - hold.start_ms == round(by_id[hold.exercise].hold_s * 1000)
        assert (hold.start_ms, Cue.START) in tones and (hold.end_ms, Cue.END) in tones
        ticks = [hold.end_ms - k * 1000 for k in (3, 2, 1)]
        assert all((t, Cue.TICK) in tones for t in ticks)
    for rep_set in timeline.sets:
        exercise = by_id[rep_set.exercise]
        rep_ms = round(exercise.work_s * 1000) + round(exercise.release_s * 1000)
        assert rep_set.end_ms - rep_set.start_ms == exercise.reps * rep_ms
    expected_holds = sum(
        e.rounds * max(1, len(e.sides)) for e in routine.exercises if e.kind is ExerciseKind.HOLD
    )
    assert len(timeline.holds) == expected_holds
    assert len(timeline.sets) == sum(
        e.sets for e in routine.exercises if e.kind is ExerciseKind.REPS
    )


def measure_at(ms_per_char: int) -> Callable[[str], int]:
    """A stand-in for real phrase lengths: proportional, with a per-text wobble."""

    def measure(text: str) -> int:
        wobble = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[0] % 7
        return ms_per_char * max(1, len(text)) + wobble

    return measure


# ---------------------------------------------------------------- model objects

WORDS = [
    "Hold",
    "breathe",
    "relax",
    "knee",
    "Hüfte",
    "ça va",
    "42",
    "🧘",
    "<b>",
    "[[x]]",
    "señor",
    "slowly,",
    "now.",
]


def paragraph(variables: frozenset[str]) -> st.SearchStrategy[str]:
    token = st.sampled_from(WORDS)
    if variables:
        token = token | st.sampled_from(sorted("{" + v + "}" for v in variables))
    first = st.sampled_from(["Now", "Stay", "Être"])
    return st.tuples(first, st.lists(token, max_size=25)).map(lambda p: " ".join([p[0], *p[1]]))


def narration(field: str, sided: bool = True) -> st.SearchStrategy[str]:
    """A text as the loader accepts it: the field's variables ({side} only with sides)."""
    allowed = templates.ALLOWED[field] - (set() if sided else {"side", "Side", "other_side"})
    return st.lists(paragraph(allowed), max_size=3).map("\n\n".join)


def number(field: str) -> st.SearchStrategy[float]:
    limit = LIMITS[field]
    if limit.integer:
        high = {"reps": 30, "rounds": 6, "sets": 6}.get(field, int(limit.high))  # keep it fast
        return st.integers(int(limit.low), high).map(float)
    return st.floats(limit.low, limit.high, allow_nan=False, allow_infinity=False)


@st.composite
def exercises(draw: st.DrawFn, exercise_id: str) -> Exercise:
    kind = draw(st.sampled_from(list(ExerciseKind)))
    fields: dict[str, Any] = {}
    texts = ["intro", "caution", "setup", "closing", "rest_cue"]
    if kind is ExerciseKind.HOLD:
        texts += ["side_setup", "side_again", "round_intro", "hold_cue", "during", "after"]
        fields["sides"] = draw(
            st.sampled_from([(), ("left", "right"), ("right", "left"), ("left",)])
        )
        numbers = ["hold_s", "rounds", "rest_s", "settle_s", "switch_s"]
    else:
        texts += ["set_intro", "set_end"]
        numbers = ["reps", "sets", "work_s", "release_s", "rest_s", "settle_s"]
        fields["rep_cue"] = draw(
            st.sampled_from(["{rep}", "{rep}, squeeze.", "Squeeze {rep} of {reps}"])
        )
    sided = bool(fields.get("sides"))
    for key in texts:
        text = draw(narration(key, sided))
        if text or key not in (
            "side_again",
            "round_intro",
            "hold_cue",
            "after",
            "rest_cue",
            "set_intro",
            "set_end",
        ):
            fields[key] = text
    for key in numbers:
        value = draw(number(key))
        fields[key] = int(value) if LIMITS[key].integer else value
    title = draw(paragraph(frozenset()))
    return Exercise(
        id=exercise_id, title=title, kind=kind, source=Path(f"{exercise_id}.yaml"), **fields
    )


@st.composite
def routines(draw: st.DrawFn) -> Routine:
    count = draw(st.integers(1, 4))
    chosen = tuple(draw(exercises(f"ex-{i}")) for i in range(count))
    return Routine(
        name="fuzz",
        title=draw(paragraph(frozenset())),
        source=Path("fuzz.routine.yaml"),
        exercises=chosen,
        intro=draw(narration("intro")),
        safety=draw(narration("intro")),
        closing=draw(narration("intro")),
        chapter_gap_s=draw(st.floats(0, 30, allow_nan=False)),
    )


@st.composite
def overrides(draw: st.DrawFn, ids: list[str]) -> Settings:
    pairs = []
    for _ in range(draw(st.integers(0, 3))):
        option = draw(st.sampled_from(sorted(OPTION_FIELDS)))
        value = draw(number(OPTION_FIELDS[option][0]))
        target = draw(st.sampled_from([None, *ids, "no-such-id"]))
        raw = templates.format_number(value)
        pairs.append(parse_override(option, raw if target is None else f"{target}={raw}"))
    return Settings(overrides=tuple(pairs))


@FUZZ
@given(data=st.data(), routine=routines(), ms_per_char=st.integers(5, 150))
def test_any_routine_compiles_to_a_timeline_that_keeps_its_invariants(
    data: st.DataObject, routine: Routine, ms_per_char: int
) -> None:
    settings_ = data.draw(overrides([e.id for e in routine.exercises]))
    measure = measure_at(ms_per_char)
    try:
        timeline = compile_routine(routine, settings_, measure)
    except SettingsError as error:  # an override naming no exercise, or the wrong kind
        assert "no-such-id" in str(error) or "exercise" in str(error)
        return
    except RoutineError as error:  # only a spoken count longer than a rep's effort
        assert error.field == "work_s", error
        return
    from voiceguide.plan.settings import apply_settings

    assert_timeline_invariants(timeline, apply_settings(routine, settings_))
    assert compile_routine(routine, settings_, measure) == timeline  # deterministic


# ---------------------------------------------------------------- YAML files for the loader

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
TEXT_KEYS = list(EXERCISE_TEXT)  # every text field of a narration script


def valid_value(key: str) -> st.SearchStrategy[Any]:
    if key in LIMITS:
        return number(key)
    if key == "kind":
        return st.sampled_from(["hold", "reps"])
    if key == "sides":
        return st.sampled_from([[], ["left", "right"], ["right"]])
    if key == "title":
        return paragraph(frozenset())
    return narration(key)


@st.composite
def script_mapping(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from([*TEXT_KEYS, *LIMITS, "kind", "sides"]), unique=True))
    data: dict[str, Any] = {"title": draw(paragraph(frozenset()))}
    for key in keys:
        junk = draw(st.integers(0, 9)) == 0  # now and then a value of any type
        data[key] = draw(JUNK) if junk else draw(valid_value(key))
    if draw(st.integers(0, 9)) == 0:
        data[draw(st.text(min_size=1, max_size=10))] = draw(JUNK)
    return data


def mutate(text: str, position: int, action: int, piece: str) -> str:
    """One random edit, as a careless hand or a broken disk would make it."""
    at = position % (len(text) + 1)
    if action == 0:
        return text[:at] + piece + text[at:]
    if action == 1:
        return text[:at] + text[at + len(piece) :]
    if action == 2:
        return text[:at] + piece + text[at + len(piece) :]
    return text


def _load_and_compile(folder: Path) -> None:
    try:
        routine = load_routine(folder / "fuzz.routine.yaml")
    except RoutineError as error:
        message = str(error)
        assert "\n" not in message and len(message) < 1000, message[:300]
        assert error.path is not None
        return
    try:
        timeline = compile_routine(routine, Settings(), measure_at(40))
    except RoutineError as error:
        assert error.field == "work_s", error
        return
    assert_timeline_invariants(timeline, routine)


def write_fuzzed_routine(
    folder: Path, scripts: list[dict[str, Any]], edits: list[tuple[int, int, str]]
) -> Path:
    """Write the scripts (as YAML, each mutated by ``edits``) and a routine naming them."""
    ids = [f"ex-{i}" for i in range(len(scripts))]
    for exercise_id, data in zip(ids, scripts, strict=True):
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        for position, action, piece in edits:
            text = mutate(text, position, action, piece)
        (folder / f"{exercise_id}.yaml").write_text(text, encoding="utf-8")
    path = folder / "fuzz.routine.yaml"
    path.write_text(yaml.safe_dump({"title": "Fuzz", "exercises": ids}), encoding="utf-8")
    return path


@FUZZ
@given(
    scripts=st.lists(script_mapping(), min_size=1, max_size=3),
    edits=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.integers(0, 4),
            st.sampled_from(
                [
                    ":",
                    "-",
                    " ",
                    "\n",
                    "  ",
                    "{",
                    "[",
                    "'",
                    '"',
                    "&a",
                    "*a",
                    "!!",
                    "\t",
                    "\x00",
                    "é",
                    "\ufeff",
                    "#",
                ]
            ),
        ),
        max_size=2,
    ),
)
def test_any_yaml_routine_loads_or_is_refused_in_one_line(
    scripts: list[dict[str, Any]], edits: list[tuple[int, int, str]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        write_fuzzed_routine(Path(tmp), scripts, edits)
        _load_and_compile(Path(tmp))


@FUZZ
@given(
    content=st.binary(max_size=400)
    | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_any_bytes_as_a_routine_file_are_refused_or_loaded(content: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        (Path(tmp) / "fuzz.routine.yaml").write_bytes(content)
        _load_and_compile(Path(tmp))


# ---------------------------------------------------------------- YAML tags and TOML depth

PLAIN_TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!<tag:yaml.org,2002:int>", "!"]
OTHER_TAGS = [
    "!!timestamp",
    "!!binary",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!merge",
    "!!value",
    "!!python/name:os.system",
    "!!python/object/apply:os.system",
    "!!python/tuple",
    "!mine",
    "!<tag:example.com,2000:x>",
    "!!yaml",
]
TAGGED_CONTENT = (
    st.sampled_from(
        [
            "maybe",
            "abc",
            "0o99",
            "0b",
            "0x1F",
            "1:30",
            "2001-13-01",
            "2001-02-30",
            "2001-02-03",
            ".nan",
            "-.inf",
            "yes",
            "",
            "aGVsbG8=",
            "1e999",
            "30",
        ]
    )
    | st.integers(1, 5000).map(lambda n: "9" * n)
    | st.integers(1, 5000).map(lambda n: "0x" + "f" * n)
    | st.text(max_size=10)
)


@st.composite
def tagged_value(draw: st.DrawFn) -> tuple[str, str]:
    """A tag and a YAML value under it: a scalar, a list or a mapping."""
    tag = draw(st.sampled_from(PLAIN_TAGS + OTHER_TAGS))
    content = draw(TAGGED_CONTENT)
    kind = draw(st.sampled_from(["scalar", "plain", "list", "mapping"]))
    if kind == "scalar":
        return tag, f"{tag} {json.dumps(content)}"
    if kind == "plain" and content.isalnum():
        return tag, f"{tag} {content}"
    if kind == "list":
        return tag, f"{tag} [{json.dumps(content)}, 1]"
    return tag, f"{tag} {{a: {json.dumps(content)}}}"


@FUZZ
@given(
    field=st.sampled_from(
        [
            *(k for k in TEXT_KEYS if k not in ("title", "setup")),
            *LIMITS,
            "kind",
            "sides",
            "reminders",
            "fit",
        ]
    ),
    tagged=tagged_value(),
    nested=st.booleans(),
)
def test_any_tagged_value_is_plain_data_or_refused_naming_its_field(
    field: str, tagged: tuple[str, str], nested: bool
) -> None:
    """Only text, numbers, true/false, null, lists and mappings are built; any other tag,
    or a value its tag cannot hold, is refused in one line naming the file, line and field
    (never a crash, never an object)."""
    tag, value = tagged
    value = f"[1, {value}]" if nested else value
    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        folder = Path(tmp)
        (folder / "fuzz.routine.yaml").write_text("title: Fuzz\nexercises: [ex-0]\n")
        script = folder / "ex-0.yaml"
        script.write_text(f"title: Fuzz hold\nsetup: Sit down.\n{field}: {value}\n")
        try:
            routine = load_routine(folder / "fuzz.routine.yaml")
        except RoutineError as error:
            message = str(error)
            assert "\n" not in message and len(message) < 1000, message[:300]
            assert error.path is not None and "Traceback" not in message
            if tag in OTHER_TAGS:  # refused first, whatever else is wrong with the value
                assert message.startswith(
                    f"{script}:3, exercise 'ex-0', field '{field}': has the tag "
                ), message
            return
        assert tag not in OTHER_TAGS, value
        loaded = routine.exercises[0]
        for name in ("title", "setup", *TEXT_KEYS, *LIMITS):
            assert isinstance(getattr(loaded, name, ""), str | int | float), name


TOML_SHAPES = ["array", "inline table", "dotted key", "table", "array of tables", "mixed"]


def nested_toml(shape: str, depth: int, key: str) -> str:
    if shape == "array":
        return f"{key} = " + "[" * depth + "1" + "]" * depth + "\n"
    if shape == "inline table":
        return f"{key} = " + "{a = " * depth + "1" + "}" * depth + "\n"
    if shape == "dotted key":
        return ".".join([key] * depth) + " = 1\n"
    if shape == "table":
        return "[" + ".".join([key] * depth) + "]\nhold = 40\n"
    if shape == "array of tables":
        return "[[" + ".".join([key] * depth) + "]]\nhold = 40\n"
    return f"{key} = " + "[{a = " * depth + "1" + "}]" * depth + "\n"


@FUZZ
@given(
    shape=st.sampled_from(TOML_SHAPES),
    depth=st.integers(1, 10) | st.integers(1, 10_000),
    key=st.sampled_from(["hold", "rate", "routines", "x"]),
)
def test_any_toml_nesting_is_a_config_or_one_line_naming_the_file(
    shape: str, depth: int, key: str
) -> None:
    """Arrays, inline tables, dotted keys and table headers nested 1-10,000 deep: settings,
    or one SettingsError naming the file (tomllib itself overflows Python's stack past a few
    hundred levels), never a crash."""
    from voiceguide.pipeline.saved import load_config

    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(nested_toml(shape, depth, key), encoding="utf-8")
        try:
            load_config(path)
        except SettingsError as error:
            message = str(error)
            assert message.startswith(f"{path}: ") and "\n" not in message, message[:300]
            assert len(message) < 600, message[:300]
            if depth > 300:
                assert any(
                    reason in message
                    for reason in ("nested too deeply", "unknown setting", "larger than 64 KiB")
                ), message


# ---------------------------------------------------------------- values from users


@FUZZ
@given(option=st.sampled_from(sorted(OPTION_FIELDS)), raw=st.text(max_size=30))
def test_any_option_value_is_a_setting_or_a_settings_error(option: str, raw: str) -> None:
    try:
        override = parse_override(option, raw)
    except SettingsError as error:
        assert f"--{option}" in str(error)
        return
    limit = LIMITS[OPTION_FIELDS[option][0]]
    assert limit.low <= override.value <= limit.high and not math.isnan(override.value)


@FUZZ
@given(title=st.text(max_size=300))
def test_any_title_becomes_one_harmless_file_name(title: str) -> None:
    name = safe_filename(title)
    assert name and name not in (".", "..") and not name.startswith((".", "-"))
    assert "#" not in name
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert all(ch.isprintable() or ch == "\u200d" for ch in name), repr(name)
    assert len(name.encode("utf-8", "surrogatepass")) <= 200  # fits any file system (255)
    name.encode("utf-8")  # no lone surrogates


@FUZZ
@given(text=st.text(max_size=200))
def test_markup_never_reaches_the_engine(text: str) -> None:
    spoken = speakable(text)
    assert "[[" not in spoken and "]]" not in spoken
    assert "<" not in spoken or ">" not in spoken.split("<", 1)[1]  # no <...> tag left
    assert spoken == "" or (spoken.isprintable() and spoken == spoken.strip())


@pytest.mark.parametrize("ms_per_char", [1, 150])
def test_extreme_phrase_lengths_keep_holds_exact(ms_per_char: int, routine: Routine) -> None:
    timeline = compile_routine(routine, Settings(), measure_at(ms_per_char))
    assert_timeline_invariants(timeline, routine)
    assert any(isinstance(e, Silence) for e in timeline.events)
