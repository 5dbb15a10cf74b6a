"""What the log holds: sessions and their exercises, as values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceguide.practice.coverage import ExerciseState
from voiceguide.practice.streaks import Moment

__all__ = ["ExerciseRecord", "NewSession", "PainScore", "Session"]


@dataclass(frozen=True)
class ExerciseRecord:
    exercise: str
    title: str
    state: ExerciseState
    heard_ms: int = 0


@dataclass(frozen=True)
class NewSession:
    """What a session is about, known when it starts."""

    routine: str
    title: str
    started: Moment
    planned_ms: int
    settings: dict[str, Any]
    exercises: tuple[tuple[str, str], ...]  # (id, title)
    routine_path: str | None = None
    start_exercise: str | None = None
    source: str = "play"  # "play", or "log" (recorded by hand)


@dataclass(frozen=True)
class Session:
    id: int
    routine: str
    title: str
    source: str
    started: Moment
    ended_utc: float | None
    status: str  # "playing", "done" (played to the end) or "stopped"
    completed: bool  # every exercise completed
    position_ms: int  # how far it got
    heard_ms: int
    planned_ms: int
    settings: dict[str, Any]
    exercises: tuple[ExerciseRecord, ...]
    routine_path: str | None = None
    start_exercise: str | None = None
    pain: int | None = None  # the check-in given after it, 0-10

    @property
    def practised(self) -> bool:
        """At least one exercise completed: the day counts for the streak."""
        return any(e.state is ExerciseState.COMPLETED for e in self.exercises)

    @property
    def length_s(self) -> float:
        """From start to end (to the last update while playing)."""
        if self.ended_utc is None:
            return 0.0
        return max(0.0, self.ended_utc - self.started.utc_s)

    @property
    def stopped_in(self) -> ExerciseRecord | None:
        return next((e for e in self.exercises if e.state is ExerciseState.STOPPED), None)

    def to_json(self) -> dict[str, Any]:
        local = self.started.local()
        return {
            "id": self.id,
            "routine": self.routine,
            "title": self.title,
            "source": self.source,
            "day": self.started.day.isoformat(),
            "started": local.isoformat(timespec="seconds"),
            "ended": (
                Moment(self.ended_utc, self.started.offset_s).local().isoformat(timespec="seconds")
                if self.ended_utc is not None
                else None
            ),
            "length_s": round(self.length_s, 1),
            "planned_s": round(self.planned_ms / 1000, 1),
            "position_s": round(self.position_ms / 1000, 1),
            "heard_s": round(self.heard_ms / 1000, 1),
            "status": self.status,
            "completed": self.completed,
            "start_exercise": self.start_exercise,
            "exercises": [
                {
                    "id": e.exercise,
                    "title": e.title,
                    "state": e.state.value,
                    "heard_s": round(e.heard_ms / 1000, 1),
                }
                for e in self.exercises
            ],
            "settings": self.settings,
            "pain": self.pain,
        }


@dataclass(frozen=True)
class PainScore:
    """A check-in: how the back felt, 0 (no pain) to 10, as the listener said it."""

    id: int
    at: Moment
    score: int
    session_id: int | None = None  # None: a score given on its own
    source: str = "log"  # "play", "page" or "log" (by hand)

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.at.day.isoformat(),
            "at": self.at.local().isoformat(timespec="seconds"),
            "score": self.score,
            "session": self.session_id,
            "source": self.source,
        }
