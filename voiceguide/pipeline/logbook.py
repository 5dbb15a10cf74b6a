"""The practice log's side of the commands: a played session recorded as it goes, a session
done elsewhere logged by hand, the history, forgetting, the CSV.

The log is ``practice.sqlite3`` in the user's data folder (``$VOICEGUIDE_DATA_DIR`` when
set). Recording never stops a session: a log that cannot be written is said in one line
after it (see :func:`play_logged`); ``log``, ``history`` and ``--forget`` fail with one line
instead (exit 1), and leave the file as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from voiceguide.errors import PracticeLogError, SettingsError, VoiceguideError
from voiceguide.pipeline.checkin import Ask, ask_pain
from voiceguide.pipeline.live import Controls, play
from voiceguide.pipeline.outputs import checked_target, write_user_file
from voiceguide.pipeline.planning import plan
from voiceguide.pipeline.setup import load, make_cache
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline
from voiceguide.play import Player, State, Status
from voiceguide.practice import (
    Clock,
    History,
    Moment,
    NewSession,
    Outline,
    PainScore,
    Session,
    SessionInfo,
    SessionRecorder,
    Store,
    build_history,
    check_folder,
    check_score,
    csv_text,
    log_path,
    moment_of,
    parse_day,
    parse_when,
    system_clock,
    unreadable_warning,
)
from voiceguide.practice.pain_plot import pain_png, pain_svg
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import Routine
from voiceguide.routine.text import did_you_mean
from voiceguide.speech.cache import PhraseCache

__all__ = [
    "export_csv",
    "forget",
    "history",
    "log_csv",
    "log_pain",
    "log_session",
    "play_logged",
    "plot_pain",
    "score_session",
    "undo_log",
]

PLOT_MIN_DAYS = 7  # a plot since yesterday still shows a week
_TARGET_ROUTINES = 20  # the most recent routines whose daily targets history shows


class _Recording:
    """A :class:`~voiceguide.pipeline.live.Listener` that feeds a :class:`Recorder` (when
    there is one) and keeps the last stage of the plan (the final timeline, at the end)."""

    def __init__(self, recorder: SessionRecorder | None) -> None:
        self._recorder = recorder
        self.timeline: Timeline | None = None

    def planned(self, timeline: Timeline) -> None:
        self.timeline = timeline
        if self._recorder is not None:
            self._recorder.planned(Outline.of(timeline))

    def heard(self, status: Status) -> None:
        if self._recorder is not None:
            self._recorder.heard(status.state.value, status.position_ms)


def play_logged(
    routine: Routine,
    settings: Settings,
    cache: PhraseCache,
    *,
    start_exercise: str | None = None,
    controls: Controls | None = None,
    player: Player | None = None,
    log: bool = True,
    ask: Ask | None = None,
    clock: Clock = system_clock,
) -> tuple[Status, str | None]:
    """Play the routine (see :func:`~voiceguide.pipeline.live.play`) and, with ``log``,
    record the session in the practice log as it goes; then, with ``ask`` and once played to
    the end, the pain check-in (see :mod:`.checkin`), kept with the session. Returns where
    it ended and, when the log could not be written, why (one line; the session played all
    the same)."""
    asking = ask is not None and log
    if asking:
        settings = dataclasses.replace(settings, check_in=True)
        if player is None:
            from voiceguide.pipeline.setup import default_player

            player = default_player()
    recorder = None
    if log:
        info = SessionInfo(routine.name, routine.title, str(routine.source), start_exercise)
        offset_s = moment_of(clock()).offset_s
        path = log_path()
        recorder = SessionRecorder(info, lambda: Store.open(path, offset_s=offset_s), clock=clock)
    listener = _Recording(recorder)
    try:
        status = play(
            routine,
            settings,
            cache,
            start_exercise=start_exercise,
            controls=controls,
            player=player,
            listener=listener,
        )
    finally:
        problem = recorder.close() if recorder is not None else None
    check_in = listener.timeline.check_in if listener.timeline is not None else None
    session_id = recorder.session_id if recorder is not None else None
    if (
        ask is not None
        and player is not None
        and check_in is not None
        and status.state is State.DONE
        and problem is None
        and session_id is not None
    ):
        try:
            score = ask_pain(check_in, cache, player, ask)
            if score is not None:
                score_session(session_id, score, "play", clock=clock)
        except PracticeLogError as error:
            problem = f"{error}; the pain score was not recorded"
        except VoiceguideError as error:  # the session is recorded: the check-in only is lost
            problem = f"pain check-in: {error}"
    return status, problem


def _open(clock: Clock) -> Store | None:
    """The log, checked, migrated and with dead players' sessions stopped; None when there
    is no log yet (reading does not make one)."""
    path = log_path()
    check_folder(path)
    if not path.exists():
        return None
    now = moment_of(clock())
    store = Store.open(path, offset_s=now.offset_s)
    try:
        store.repair(now.utc_s)
    except BaseException:
        store.close()
        raise
    return store


def _read(clock: Clock) -> tuple[list[Session], list[int], list[PainScore]]:
    """Every session the log shows, the ids of those it cannot (see :meth:`Store.read`),
    and every check-in, oldest first."""
    store = _open(clock)
    if store is None:
        return [], [], []
    with store:
        return *store.read(), store.pain_scores()


def history(
    *,
    since: str | None = None,
    routine: str | None = None,
    last: int = 10,
    pain_days: int | None = None,
    clock: Clock = system_clock,
) -> History:
    """The last sessions (all since ``since``), streaks, a calendar and today's targets, of
    one routine (by name) or of all."""
    now = moment_of(clock())
    since_day = parse_day(since, now.day) if since is not None else None
    if last < 1:
        raise SettingsError(f"--last {last}: must be 1 or more")
    sessions, unreadable, pain = _read(clock)
    per_day = _targets(sessions, routine)
    return build_history(
        log_path(),
        sessions,
        now,
        per_day,
        since=since_day,
        routine=routine,
        last=last,
        unreadable=unreadable,
        pain=pain,
        **({} if pain_days is None else {"pain_days": pain_days}),
    )


def _targets(sessions: list[Session], routine: str | None) -> dict[str, tuple[str, int, int]]:
    """{exercise id: (title, fewest, most)} of the exercises with a daily target in the
    routines played lately (or in ``routine``); routines that no longer load are passed by."""
    wanted: dict[str, str | None] = {}  # name -> the file it was played from
    for session in reversed(sessions):
        if routine is None or session.routine == routine:
            wanted.setdefault(session.routine, session.routine_path)
    if routine is not None:
        wanted.setdefault(routine, None)
    found: dict[str, tuple[str, int, int]] = {}
    for name, path in list(wanted.items())[:_TARGET_ROUTINES]:
        loaded = None
        with contextlib.suppress(VoiceguideError, OSError, ValueError):
            loaded = load_routine(Path(path)) if path and Path(path).is_file() else load(name)
        for exercise in loaded.exercises if loaded is not None else ():
            if exercise.per_day is not None:
                found.setdefault(exercise.id, (exercise.title, *exercise.per_day))
    return found


def plot_pain(
    out: str,
    *,
    since: str | None = None,
    routine: str | None = None,
    clock: Clock = system_clock,
) -> tuple[History, str | None]:
    """The pain check-ins as a chart at ``out`` (SVG or PNG, by its name), of the last 8
    weeks or of the days since ``since``, written whole or not at all (never over a device,
    a folder or the log itself); the history it shows, and a warning about the sessions
    that could not be read, if any."""
    kind = Path(out).suffix.lower()
    if kind not in (".svg", ".png"):
        raise SettingsError(f"--plot {out!r}: give a file name ending in .svg or .png")
    checked_target("--plot", out)  # before reading the log: a wrong target is said first
    now = moment_of(clock())
    days = None
    if since is not None:
        days = max(PLOT_MIN_DAYS, (now.day - parse_day(since, now.day)).days + 1)
    shown = history(since=since, routine=routine, pain_days=days, clock=clock)
    assert shown.pain is not None  # (a history always has its trend)
    data = pain_svg(shown.pain).encode("utf-8") if kind == ".svg" else pain_png(shown.pain)
    write_user_file("--plot", out, data)
    return shown, shown.warning


def log_session(
    routine: Routine,
    settings: Settings,
    *,
    at: str | None = None,
    exercises: list[str] | None = None,
    pain: int | None = None,
    cache: PhraseCache | None = None,
    clock: Clock = system_clock,
) -> Session:
    """Record a session done elsewhere (the exported MP3s on a phone): the routine with the
    settings an export of it uses, the exercises done (all when none are named), started at
    ``at`` (default: it just ended), with its pain check-in (0-10) when given."""
    if pain is not None:
        check_score(pain)
    loaded = routine
    ids = [e.id for e in loaded.exercises]
    for exercise in exercises or []:
        if exercise not in ids:
            raise SettingsError(
                f"--exercise {exercise}: no exercise '{exercise}' in routine '{loaded.name}'"
                f"{did_you_mean(exercise, ids)}; exercises: {', '.join(ids)}"
            )
    done = set(exercises or ids)
    now = clock()
    zone = None if clock is system_clock else now.tzinfo  # None: the system's, with its rules
    started_at = parse_when(at, now, zone) if at is not None else None
    cache = cache or make_cache(settings)
    timeline = plan(loaded, settings, cache)
    outline = Outline.of(timeline)
    heard_ms = (
        outline.total_ms
        if done == set(ids)
        else sum(p.end_ms - p.start_ms for p in outline.parts if p.exercise in done)
    )
    end = moment_of(now)
    start = moment_of(started_at) if started_at is not None else None
    if start is None:
        start = Moment(end.utc_s - heard_ms / 1000, end.offset_s)
    new = NewSession(
        routine=loaded.name,
        title=loaded.title,
        started=start,
        planned_ms=outline.total_ms,
        settings=outline.settings,
        exercises=tuple((p.exercise, p.title) for p in outline.parts),
        routine_path=str(loaded.source),
        source="log",
    )
    with Store.open(log_path(), offset_s=end.offset_s) as store:
        session_id = store.add(
            new, start.utc_s + heard_ms / 1000, sorted(done), heard_ms, pain=pain
        )
        return next(s for s in store.sessions() if s.id == session_id)


def log_pain(score: int, *, at: str | None = None, clock: Clock = system_clock) -> PainScore:
    """Record a check-in with no session (how the back feels in the morning, say), at
    ``at`` (default: now)."""
    check_score(score)
    now = clock()
    zone = None if clock is system_clock else now.tzinfo
    when = moment_of(parse_when(at, now, zone)) if at is not None else moment_of(now)
    with Store.open(log_path(), offset_s=moment_of(now).offset_s) as store:
        score_id = store.add_pain(score, when, None, "log")
        return next(p for p in store.pain_scores() if p.id == score_id)


def score_session(
    session_id: int, score: int, source: str, *, clock: Clock = system_clock
) -> PainScore:
    """The check-in after a session (from play or the phone page), now; it replaces one
    given before for that session, and leaves the session as it was."""
    check_score(score)
    now = moment_of(clock())
    with Store.open(log_path(), offset_s=now.offset_s) as store:
        score_id = store.add_pain(score, now, session_id, source)
        return next(p for p in store.pain_scores() if p.id == score_id)


def undo_log(clock: Clock = system_clock) -> Session | None:
    """Delete the last session recorded by hand (a mistake); it, or None."""
    store = _open(clock)
    if store is None:
        return None
    with store:
        return store.undo_logged()


def forget(before: str | None = None, clock: Clock = system_clock) -> int:
    """Delete every session (or those of days before ``before``) for real; how many."""
    now = moment_of(clock())
    before_day = parse_day(before, now.day, "--before") if before is not None else None
    store = _open(clock)
    if store is None:
        return 0
    with store:
        return store.forget(before_day)


def log_csv(
    *,
    since: str | None = None,
    routine: str | None = None,
    clock: Clock = system_clock,
) -> tuple[str, int, str | None]:
    """The log (since ``since``, of ``routine``) as CSV text (with the check-ins given on
    their own, when no routine is asked for), how many sessions it holds, and a warning
    about the sessions that could not be read, if any."""
    now = moment_of(clock())
    since_day = parse_day(since, now.day) if since is not None else None
    every, unreadable, pain = _read(clock)
    sessions = [
        s
        for s in every
        if (routine is None or s.routine == routine)
        and (since_day is None or s.started.day >= since_day)
    ]
    alone = [
        p
        for p in pain
        if p.session_id is None and routine is None and (since_day is None or p.at.day >= since_day)
    ]
    return csv_text(sessions, alone), len(sessions), unreadable_warning(log_path(), unreadable)


def export_csv(
    out: str,
    *,
    since: str | None = None,
    routine: str | None = None,
    clock: Clock = system_clock,
) -> tuple[int, str | None]:
    """The log (since ``since``, of ``routine``) as CSV at ``out``, written whole or not at
    all (never over a device, a folder or the log itself); how many sessions, and a warning
    about the sessions that could not be read, if any."""
    checked_target("--export", out)  # before reading the log: a wrong target is said first
    text, count, warning = log_csv(since=since, routine=routine, clock=clock)
    write_user_file("--export", out, text.encode("utf-8"))
    return count, warning
