"""How results look in a terminal (rich). Progress and tables go to stderr/stdout."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from voiceguide.cli.progress_bars import ProgressBars
from voiceguide.export import ExportResult
from voiceguide.export import Progress as ProgressCallback
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.text import clock

if TYPE_CHECKING:
    from voiceguide.plan.preferences import Resolved, Row
    from voiceguide.practice import History, Session
    from voiceguide.routine.model import Routine
    from voiceguide.speech.voices import Voice

__all__ = [
    "clock",
    "config_table",
    "export_progress",
    "export_summary",
    "history_view",
    "plan_table",
    "streak_line",
    "voices_table",
]


def _seconds(ms: int) -> str:
    value = ms / 1000
    return f"{value:g} s" if value == int(value) else f"{value:.1f} s"


def plan_table(
    timeline: Timeline, console: Console | None = None, rows: tuple[Row, ...] = ()
) -> None:
    """The timeline as a table and its total; ``rows``: where the settings come from (a
    short introduction chosen by the practice log says so)."""
    console = console or Console()
    table = Table(title=timeline.title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("start", justify="right")
    table.add_column("what")
    table.add_column("side")
    table.add_column("length", justify="right")
    for chapter in timeline.chapters:
        table.add_row(
            clock(chapter.start_ms),
            f"[bold]{chapter.index}. {chapter.title}[/]",
            "",
            clock(chapter.end_ms - chapter.start_ms),
        )
        steps = [x for x in timeline.steps if x.exercise == chapter.exercise]
        if chapter.exercise is not None and steps:
            moving = _seconds(sum(x.then_ms for x in steps))
            table.add_row(
                clock(steps[0].start_ms), f"   {len(steps)} steps, {moving} to move", "", ""
            )
        for hold in (h for h in timeline.holds if h.exercise == chapter.exercise):
            table.add_row(
                clock(hold.start_ms),
                f"   hold, round {hold.round}",
                hold.side or "",
                _seconds(hold.end_ms - hold.start_ms),
            )
        for rep_set in (s for s in timeline.sets if s.exercise == chapter.exercise):
            table.add_row(
                clock(rep_set.start_ms),
                f"   set {rep_set.set}: {rep_set.reps} reps",
                "",
                _seconds(rep_set.end_ms - rep_set.start_ms),
            )
    console.print(table)
    settings = timeline.settings
    chosen = [o.describe() for o in settings.overrides] if settings else []
    if settings and settings.verbosity != "standard":
        chosen.append(f"--verbosity {settings.verbosity}")
    if settings and settings.intro != "full":
        chosen.append(f"--intro {settings.intro}")
    if settings and settings.pace != "standard":
        chosen.append(f"--pace {settings.pace}")
    if settings and settings.breath_s:
        chosen.append("--breath " + "-".join(f"{s:g}" for s in settings.breath_s))
    if settings and settings.fit_s:
        chosen.append(f"--fit {clock(round(settings.fit_s * 1000))}")
    summary = ", ".join(chosen) or "routine defaults"
    total = f"Total {clock(timeline.total_ms)}"
    console.print(f"\n[bold]{total}[/] ({timeline.total_ms / 1000:.1f} s) - {summary}")
    for change in timeline.fit_changes:
        console.print(f"  fitted: {change}")
    for row in rows:
        if row.setting == "intro" and row.source.kind == "practice log":
            console.print(f"  short introduction: {row.source} (--intro full: all of it)")


@contextlib.contextmanager
def export_progress(enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """A rendering bar on stderr (only on a terminal), for a front end that shows no other."""
    with ProgressBars(enabled=enabled) as bars:
        yield bars.rendering if bars.enabled else None


def export_summary(timeline: Timeline, result: ExportResult, elapsed_s: float) -> None:
    console = Console()
    if result.zip_path is not None:
        console.print(f"{result.zip_path}")
    else:
        for track in (*result.tracks, result.full):
            console.print(f"{clock(round(track.duration_s * 1000)):>8}  {track.path}")
        console.print(f"{'playlist':>8}  {result.playlist}")
    console.print(
        f"Exported {len(result.tracks) + 1} tracks ({clock(timeline.total_ms)} in all) "
        f"in {elapsed_s:.1f} s."
    )


SIZES_NOTE = (
    "size: the voice's model; espeak-ng's 13 MB are shared by all its voices, "
    "Piper's runtime adds about 150 MB"
)


def voices_table(
    voices: list[Voice],
    missing: str | None = None,
    console: Console | None = None,
    yours: str | None = None,
) -> None:
    """One voice a line: id, language, name (a neural one says so), gender, accent, size and
    licence; the default marked with a
    star, the config file's voice (``yours``) with an arrow; then how to get the neural voices
    when they are missing."""
    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal:  # a pipe or a file: whole lines
            console.width = 160
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("", no_wrap=True, min_width=1)  # the mark: never squeezed away
    for column in ("id", "language", "name", "gender", "accent", "size", "licence"):
        table.add_column(column, no_wrap=True)
    for voice in voices:
        default, chosen = voice.is_default, voice.id == yours
        notes = [note for note, yes in (("default", default), ("yours", chosen)) if yes]
        cells = (
            ">" if chosen else "*" if default else "",
            voice.id,
            voice.language,
            voice.name + (f" ({', '.join(notes)})" if notes else ""),
            voice.gender,
            voice.accent,
            voice.size,
            voice.licence,
        )
        table.add_row(*(Text(cell) for cell in cells), style="bold" if default or chosen else None)
    console.print(table)
    console.print(Text(SIZES_NOTE))
    if missing is not None:
        console.print(Text(missing))


def config_table(routine: Routine, resolved: Resolved, console: Console | None = None) -> None:
    """Each setting (per exercise for the numbers), its value and where it comes from."""
    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal:  # a pipe or a file: whole lines
            console.width = 160
    found = "" if resolved.config_found else " (none yet)"
    console.print(Text(f"{routine.name}: {routine.title}\nconfig file: {resolved.config}{found}"))
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("setting", "exercise", "value", "from"):
        table.add_column(column, no_wrap=True)
    for row in resolved.rows:
        source = row.source
        shown = f"config file [{source.table}]" if source.table else source.kind
        if source.kind == "config" and not source.table:
            shown = "config file (top level)"
        elif source.kind == "phone":
            shown = "saved from the phone"
        cells = (row.setting, row.exercise or "", row.value, shown)
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)


# ---------------------------------------------------------------- the practice log


def _outcome(session: Session) -> str:
    """Completed, or where it stopped, and what was skipped."""
    done = sum(e.state.value == "completed" for e in session.exercises)
    skipped = [e.title for e in session.exercises if e.state.value == "skipped"]
    if session.status == "playing":
        return "playing now"
    if session.source == "log":
        whole = done == len(session.exercises)
        return "logged" + ("" if whole else f": {done} of {len(session.exercises)} exercises")
    where = f"{clock(session.position_ms)} of {clock(session.planned_ms)}"
    if session.completed:
        text = "completed"
    elif session.stopped_in is not None:
        text = f"stopped in {session.stopped_in.title} at {where}"
    elif session.status == "stopped":
        text = f"stopped at {where}"
    else:
        text = "played to the end"
    if skipped:
        text += ", skipped " + ", ".join(skipped)
    return text


_MARKS = {
    "completed": ("■", "green"),
    "practised": ("▪", "green"),
    "tried": ("·", "yellow"),
    "none": ("·", "dim"),
}
_WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


def history_view(history: History, console: Console | None = None) -> None:
    """The last sessions, the streak, a calendar of the last weeks, today's targets."""
    console = console or Console(highlight=False)
    if not history.sessions:
        console.print(
            Text(
                f"No sessions yet in {history.path}: 'voiceguide play' records "
                "each one, 'voiceguide log' one done elsewhere."
            )
        )
    else:
        table = Table(show_edge=False, pad_edge=False, box=None)
        table.add_column("when", no_wrap=True)
        table.add_column("routine", no_wrap=True)
        table.add_column("heard", justify="right", no_wrap=True)
        table.add_column("how it went")
        for session in history.sessions:
            when = session.started.local().strftime("%a %d %b %H:%M")
            heard = clock(session.heard_ms) if session.heard_ms else "-"
            table.add_row(Text(when), Text(session.routine), Text(heard), Text(_outcome(session)))
        console.print(table)
        more = history.total_sessions - len(history.sessions)
        if more > 0:
            console.print(Text(f"({more} earlier: --since or --last to list them)", style="dim"))
    streak = history.streaks
    line = Text("\nStreak: ")
    line.append(f"{streak.current} day{'s' if streak.current != 1 else ''}", style="bold")
    line.append(f" (longest {streak.longest})")
    if streak.practised_today:
        line.append(" · practised today")
    elif streak.current:
        line.append(" · practise today to keep it")
    console.print(line)
    grid = Table(show_edge=False, pad_edge=False, box=None)
    grid.add_column("week of", no_wrap=True)
    for name in _WEEKDAYS:
        grid.add_column(name, justify="center")
    for row in history.calendar:
        cells = []
        for mark in row:
            symbol, style = _MARKS[mark.level]
            cells.append(
                Text(
                    "" if mark.future else symbol, style=style + (" reverse" if mark.today else "")
                )
            )
        grid.add_row(Text(row[0].day.strftime("%d %b")), *cells)
    console.print(grid)
    console.print(Text("■ whole routine  ▪ some exercises  · none", style="dim"))
    if history.pain is not None and not history.pain.empty:
        from voiceguide.cli.pain_chart import pain_lines

        for line in pain_lines(history.pain, console):
            console.print(line, no_wrap=True, overflow="crop")
    for target in history.targets:
        times = f"{target.low}" if target.low == target.high else f"{target.low}-{target.high}"
        line = Text(f"Today: {target.title}, {times} times a day: {target.done_today} done")
        if target.over:
            line.append(" (more than it asks for)", style="yellow")
        elif target.met:
            line.append(" ✓", style="green")
        else:
            line.append(", not yet", style="yellow")
        console.print(line)


def streak_line(history: History) -> str:
    """The streak and today's targets in one line (after a session is recorded)."""
    streak = history.streaks
    parts = [
        f"{streak.current} day{'s' if streak.current != 1 else ''} in a row "
        f"(longest {streak.longest})"
    ]
    for target in history.targets:
        times = f"{target.low}" if target.low == target.high else f"{target.low}-{target.high}"
        mark = " ✓" if target.met else ""
        parts.append(f"{target.title} today: {target.done_today} of {times}{mark}")
    return "Practice: " + " · ".join(parts)
