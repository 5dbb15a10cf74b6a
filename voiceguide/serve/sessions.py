"""Sessions played on the phone, recorded in the practice log (source "phone").

The page reports (``api/session``) what it played: its session's id (random, kept on the
phone with its place, so a reload that resumes goes on with the same session), the export's
fingerprint, its state (playing, paused, done, stopped), its position and the stretches it
heard, all of them each time. So a report repeated, late or sent again after a restart of
the server changes nothing it should not: the stretches merge, the session stays one row
(found again in the log by its id after a restart), and one that ended ("done", "stopped"
by the page) takes no more reports. A session the page never ends is stopped when the
server stops, or, like any session whose player went quiet, by the log's own repair.

The done screen's pain check-in (``api/pain``, POST) keeps a score, 0-10, with the page's
session (found by the same id; source "page"), and leaves the session as it was; the
page's chart reads the scores' trend (``api/pain``, GET): the ``pain`` part of
``voiceguide history --json``, and no more of the log.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from voiceguide import pipeline
from voiceguide.errors import VoiceguideError
from voiceguide.plan.preferences import Resolved
from voiceguide.practice import (
    Clock,
    NewSession,
    Outline,
    Store,
    Tracker,
    log_path,
    moment_of,
    system_clock,
)
from voiceguide.routine.model import Routine
from voiceguide.serve.service import Service

__all__ = ["PhoneSessions"]

STATES = ("playing", "paused", "done", "stopped")
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SPAN = re.compile(r"([0-9]{1,6}(?:\.[0-9]{1,3})?)-([0-9]{1,6}(?:\.[0-9]{1,3})?)")
_MAX_SPANS = 500
_MAX_OPEN = 50  # sessions followed at once: the oldest is let go (the log's repair ends it)
_SCORE = re.compile(r"10|[0-9]")  # ASCII digits only: "٣" is a digit to int() too
_FOUND_DAYS = 2  # a session is found again by its id among the phone's of the last days


@dataclass
class _Open:
    log_id: int
    fingerprint: str
    tracker: Tracker


class PhoneSessions:
    """The phone sessions of one server, written to the practice log as they are reported."""

    def __init__(
        self,
        service: Service,
        open_store: Callable[[], Store] | None = None,
        clock: Clock = system_clock,
        outline_of: Callable[[Routine, Resolved], Outline] | None = None,
    ) -> None:
        self._service = service
        self._outline_of = outline_of or _planned_outline
        self._clock = clock
        self._open_store = open_store or (
            lambda: Store.open(log_path(), offset_s=moment_of(clock()).offset_s)
        )
        self._lock = threading.Lock()  # one report at a time: the log is written in order
        self._open: dict[str, _Open] = {}
        self._ended: set[str] = set()
        self._outlines: dict[str, Outline] = {}
        self._problem: str | None = None

    def report(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """One report of the page, as (HTTP status, JSON body)."""
        page_id, fingerprint = form.get("id", ""), form.get("fingerprint", "")
        state = form.get("state", "")
        spans = [m for m in form.get("heard", "").split(",") if m]
        try:
            position_ms = round(float(form.get("position_s", "")) * 1000)
        except ValueError:
            position_ms = -1
        if (
            not _ID.fullmatch(page_id)
            or state not in STATES
            or not 0 <= position_ms < 10**9
            or len(spans) > _MAX_SPANS
            or not all(_SPAN.fullmatch(s) for s in spans)
        ):
            return 400, {"recorded": False, "message": "not a session report"}
        heard = [tuple(round(float(x) * 1000) for x in s.split("-")) for s in spans]
        with self._lock:
            if page_id in self._ended:
                return 200, {"recorded": True, "ended": True}
            try:
                outline = self._outline(fingerprint)
                if outline is None:  # not the export being served (or recording is off)
                    return 200, {"recorded": False}
                with self._open_store() as store:
                    self._write(store, page_id, fingerprint, outline, state, position_ms, heard)
            except VoiceguideError as error:
                if str(error) != self._problem:  # said once, not every 10 seconds
                    self._problem = str(error)
                    self._service.log(f"practice log: {error}; phone sessions are not recorded")
                return 200, {"recorded": False}
            self._problem = None
        return 200, {"recorded": True, "ended": state in ("done", "stopped")}

    def score(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The done screen's check-in: ``score`` (0-10) kept with the page's session ``id``,
        as (HTTP status, JSON body). Anything else is refused with 400 and one line, a
        session this server never logged with 404; nothing is written then."""
        page_id, raw = form.get("id", ""), form.get("score", "")
        if not _ID.fullmatch(page_id):
            return 400, {"recorded": False, "message": "not a session id of this page"}
        if not _SCORE.fullmatch(raw):
            return 400, {
                "recorded": False,
                "message": f"score {raw[:20]!r}: give a whole number from 0 (no pain) to 10",
            }
        with self._lock:
            try:
                with self._open_store() as store:
                    log_id = self._logged(store, page_id)
                    if log_id is None:
                        return 404, {
                            "recorded": False,
                            "message": "no session of this page in the practice log",
                        }
                    score_id = store.add_pain(int(raw), moment_of(self._clock()), log_id, "page")
                    [kept] = [p for p in store.pain_scores() if p.id == score_id]
            except VoiceguideError as error:
                self._service.log(f"practice log: {error}; the pain score was not recorded")
                return 503, {"recorded": False, "message": "the practice log cannot be written"}
        return 200, {"recorded": True, "score": kept.to_json()}

    def trend(self) -> tuple[int, dict[str, Any]]:
        """The check-ins for the page's chart: ``today`` and the ``pain`` of ``history
        --json`` (every score, the days, weekly averages, both two-week windows)."""
        try:
            shown = pipeline.history(clock=self._clock).to_json()
        except VoiceguideError as error:
            return 503, {"message": str(error).splitlines()[0]}
        return 200, {"today": shown["today"], "pain": shown["pain"]}

    def close(self) -> None:
        """The server stops: every session still open is stopped where it was."""
        with self._lock:
            if not self._open:
                return
            try:
                with self._open_store() as store:
                    for entry in self._open.values():
                        tracker = entry.tracker
                        tracker.feed("stopped", tracker.position_ms, 0.0)
                        self._update(store, entry)
            except VoiceguideError:
                pass  # the log's repair stops them later
            self._open.clear()

    # ------------------------------------------------------------ under the lock

    def _outline(self, fingerprint: str) -> Outline | None:
        """The plan's outline of the export with this fingerprint: the one being served."""
        if fingerprint in self._outlines:
            return self._outlines[fingerprint]
        service = self._service
        routine, resolved = service.routine, service.resolved
        made_from = pipeline.fingerprint(routine, resolved.settings, resolved.bitrate)
        if not resolved.log or fingerprint != made_from:
            return None
        outline = self._outlines[fingerprint] = self._outline_of(routine, resolved)
        return outline

    def _logged(self, store: Store, page_id: str) -> int | None:
        """The log's row of the page's session: followed now, or found by its id."""
        entry = self._open.get(page_id)
        if entry is not None:
            return entry.log_id
        day = moment_of(self._clock()).day
        found = [
            s.id
            for s in store.sessions(since=day - timedelta(days=_FOUND_DAYS))
            if s.source == "phone" and s.settings.get("phone_session") == page_id
        ]
        return found[-1] if found else None

    def _write(
        self,
        store: Store,
        page_id: str,
        fingerprint: str,
        outline: Outline,
        state: str,
        position_ms: int,
        heard: list[tuple[int, ...]],
    ) -> None:
        entry = self._open.get(page_id)
        if entry is not None and entry.fingerprint != fingerprint:
            return  # a session stays with its export (the page starts another for a new one)
        if entry is None:
            entry = self._begin(store, page_id, fingerprint, outline, heard)
            if entry is None:
                self._ended.add(page_id)
                return
        tracker = entry.tracker
        for start_ms, end_ms in heard:
            tracker.add_heard(start_ms, end_ms)
        tracker.feed("paused" if state in ("playing", "paused") else state, position_ms, 0.0)
        self._update(store, entry)
        if tracker.ended is not None:
            del self._open[page_id]
            self._ended.add(page_id)

    def _begin(
        self,
        store: Store,
        page_id: str,
        fingerprint: str,
        outline: Outline,
        heard: list[tuple[int, ...]],
    ) -> _Open | None:
        """The session's row: found again by its id (a restart of the server), else new;
        None when it ended already."""
        service = self._service
        routine = service.routine
        now = moment_of(self._clock())
        found = [
            s
            for s in store.sessions(
                since=now.day - timedelta(days=_FOUND_DAYS), routine=routine.name
            )
            if s.source == "phone" and s.settings.get("phone_session") == page_id
        ]
        if found and found[-1].status == "done":
            return None
        if found:
            log_id = found[-1].id
        else:
            heard_ms = sum(end - start for start, end in heard)
            new = NewSession(
                routine=routine.name,
                title=routine.title,
                started=moment_of(self._clock() - timedelta(milliseconds=heard_ms)),
                planned_ms=outline.total_ms,
                settings={**outline.settings, "phone_session": page_id},
                exercises=tuple((p.exercise, p.title) for p in outline.parts),
                routine_path=str(routine.source),
                source="phone",
            )
            log_id = store.begin(new)
        if len(self._open) >= _MAX_OPEN:
            del self._open[next(iter(self._open))]
        entry = self._open[page_id] = _Open(log_id, fingerprint, Tracker(outline))
        return entry

    def _update(self, store: Store, entry: _Open) -> None:
        tracker = entry.tracker
        states = tracker.states()
        store.update(
            entry.log_id,
            self._clock().timestamp(),
            tracker.position_ms,
            tracker.heard_ms(),
            [(s, tracker.heard_ms(p)) for s, p in zip(states, tracker.outline.parts, strict=True)],
            status=tracker.ended or "playing",
            completed=tracker.completed,
        )


def _planned_outline(routine: Routine, resolved: Resolved) -> Outline:
    cache = pipeline.make_cache(resolved.settings)
    try:  # every phrase is in the cache since the export: this is quick
        return Outline.of(pipeline.plan(routine, resolved.settings, cache))
    finally:
        cache.close()
