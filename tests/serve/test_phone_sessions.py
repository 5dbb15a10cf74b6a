"""Sessions played on the phone, recorded in the practice log from the page's reports: one
row per session however often (or late, or after a restart of the server) it is reported,
what was heard, done or stopped; a report that is not one is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from voiceguide import pipeline
from voiceguide.pipeline.setup import load, prepare
from voiceguide.plan.choices import command_line
from voiceguide.plan.preferences import resolve
from voiceguide.practice import ExerciseState, Outline, Session, Store, log_path
from voiceguide.serve.service import Service
from voiceguide.serve.sessions import PhoneSessions
from voiceguide.speech.cache import PhraseCache

PAGE = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Outline:
    from tests.conftest import FakeSynthesizer

    routine = load(None)
    resolved = resolve(routine, command_line(), None)  # no config file: not the user's
    cache = PhraseCache(FakeSynthesizer(), tmp_path_factory.mktemp("fake-cache"))
    return Outline.of(pipeline.plan(routine, resolved.settings, cache))


@pytest.fixture
def phone(planned: Outline) -> Any:
    routine, resolved = prepare(None, command_line())
    outline = planned
    log: list[str] = []
    service = SimpleNamespace(routine=routine, resolved=resolved, log=log.append)
    fingerprint = pipeline.fingerprint(routine, resolved.settings, resolved.bitrate)

    def sessions() -> PhoneSessions:  # a server's (a new one: a restart)
        return PhoneSessions(cast(Service, service), outline_of=lambda r, s: outline)

    return SimpleNamespace(
        sessions=sessions, outline=outline, fingerprint=fingerprint, service=service, log=log
    )


def _report(
    sessions: PhoneSessions, phone: Any, state: str, position_s: float, heard: str = "", **more: str
) -> tuple[int, dict[str, Any]]:
    form = {
        "id": PAGE,
        "fingerprint": phone.fingerprint,
        "state": state,
        "position_s": str(position_s),
        "heard": heard,
        **more,
    }
    return sessions.report(form)


def _logged() -> list[Session]:
    with Store.open(log_path()) as store:
        return store.sessions()


def test_a_session_played_to_its_end_is_one_row_done_with_what_was_heard(phone: Any) -> None:
    sessions = phone.sessions()
    total_s = phone.outline.total_ms / 1000
    assert _report(sessions, phone, "playing", 0) == (200, {"recorded": True, "ended": False})
    [row] = _logged()
    assert (row.source, row.status, row.heard_ms) == ("phone", "playing", 0)
    assert row.planned_ms == phone.outline.total_ms
    first = phone.outline.parts[0]
    heard = f"0-{first.end_ms / 1000:.3f}"
    for _ in range(3):  # sent again (a lost answer): nothing changes but the time
        _report(sessions, phone, "playing", first.end_ms / 1000, heard)
    [row] = _logged()
    assert row.status == "playing" and row.heard_ms == first.end_ms
    assert row.exercises[0].state is ExerciseState.COMPLETED and row.practised
    _report(sessions, phone, "paused", first.end_ms / 1000, heard)
    everything = f"0-{total_s:.3f}"
    assert _report(sessions, phone, "done", total_s, everything)[1]["ended"]
    [row] = _logged()
    assert row.status == "done" and row.completed and row.heard_ms == phone.outline.total_ms
    assert all(e.state is ExerciseState.COMPLETED for e in row.exercises)
    assert row.settings["phone_session"] == PAGE
    # a late report of the same session, and the same session after a restart: still one row
    _report(sessions, phone, "playing", 12, "0-12")
    _report(phone.sessions(), phone, "playing", 12, "0-12")
    assert [(s.status, s.heard_ms) for s in _logged()] == [("done", phone.outline.total_ms)]
    code, out, err = _run_history()
    assert code == 0, err
    streak = out["streak"]  # it counts toward the streak and today's targets
    assert streak["current_days"] == 1 and streak["practised_today"]
    assert out["targets"] and all(t["done_today"] >= 1 for t in out["targets"])
    assert out["sessions"][-1]["source"] == "phone"


def _run_history() -> tuple[int, dict[str, Any], str]:
    import json

    from tests.routine.test_bad_input import run_main

    code, out, err = run_main("history", "--json")
    return code, json.loads(out) if code == 0 else {}, err


def test_a_restarted_server_goes_on_with_the_same_row_and_a_stop_ends_it(phone: Any) -> None:
    sessions = phone.sessions()
    _report(sessions, phone, "playing", 30, "0-30")
    sessions.close()  # the server stops: the session is stopped where it was
    [row] = _logged()
    assert (row.status, row.heard_ms, row.position_ms) == ("stopped", 30_000, 30_000)
    again = phone.sessions()  # the page carries on after the restart, with the same id
    _report(again, phone, "playing", 45, "0-45")
    [row] = _logged()
    assert (row.status, row.heard_ms) == ("playing", 45_000)
    assert _report(again, phone, "stopped", 46, "0-46")[1]["ended"]  # start over on the page
    [row] = _logged()
    assert row.status == "stopped" and row.heard_ms == 46_000 and not row.completed
    _report(again, phone, "playing", 0, "", id="f" * 32)  # the next session is a new row
    assert [s.status for s in _logged()] == ["stopped", "playing"]


@pytest.mark.parametrize(
    "change",
    [
        {"id": "short"},
        {"id": "../../etc/passwd-0123456789"},
        {"state": "finished"},
        {"position_s": "nan"},
        {"position_s": "-1"},
        {"heard": "0-1,x"},
        {"heard": "1e9-2e9"},
        {"heard": ",".join(f"{i}-{i}.5" for i in range(501))},
    ],
)
def test_what_is_not_a_report_is_refused_and_writes_nothing(
    phone: Any, change: dict[str, str]
) -> None:
    form = {"id": PAGE, "fingerprint": phone.fingerprint, "state": "playing", "position_s": "1"}
    status, answer = phone.sessions().report({**form, **change})
    assert status == 400 and not answer["recorded"]
    assert not log_path().exists() or _logged() == []


def test_another_export_or_a_log_turned_off_records_nothing(phone: Any) -> None:
    assert _report(phone.sessions(), phone, "playing", 0, fingerprint="0" * 16)[1] == {
        "recorded": False
    }
    phone.service.resolved = phone.service.resolved.__class__(
        **{**phone.service.resolved.__dict__, "log": False}
    )
    assert _report(phone.sessions(), phone, "playing", 0)[1] == {"recorded": False}
    assert not log_path().exists()


def test_a_log_that_cannot_be_written_is_said_once_and_the_page_goes_on(
    phone: Any, tmp_path: Path
) -> None:
    log_path().parent.mkdir(parents=True, exist_ok=True)
    log_path().write_bytes(b"not a database" * 100)
    sessions = phone.sessions()
    for _ in range(3):
        assert _report(sessions, phone, "playing", 1, "0-1") == (200, {"recorded": False})
    assert len(phone.log) == 1 and "practice log" in phone.log[0]


# ---------------------------------------------------------------- the done screen's check-in


def _scores() -> list[tuple[int, int | None, str]]:
    with Store.open(log_path()) as store:
        return [(p.score, p.session_id, p.source) for p in store.pain_scores()]


def _done(phone: Any) -> Session:
    sessions = phone.sessions()
    total_s = phone.outline.total_ms / 1000
    _report(sessions, phone, "done", total_s, f"0-{total_s:.3f}")
    [row] = _logged()
    return row


def test_a_score_is_kept_with_the_page_session_and_leaves_the_session_as_it_was(
    phone: Any,
) -> None:
    row = _done(phone)
    sessions = phone.sessions()  # a restart between the end and the tap: found by its id
    status, answer = sessions.score({"id": PAGE, "score": "7"})
    assert status == 200 and answer["recorded"]
    assert (answer["score"]["score"], answer["score"]["session"]) == (7, row.id)
    assert answer["score"]["source"] == "page"
    assert _scores() == [(7, row.id, "page")]
    assert _logged() == [replace(row, pain=7)]  # the session row, every field, as it was
    # a second tap (a finger that slipped) replaces it: one score for the session
    assert sessions.score({"id": PAGE, "score": "10"})[0] == 200
    assert _scores() == [(10, row.id, "page")]
    assert _logged() == [replace(row, pain=10)]
    # the chart's data is history --json's
    code, out, err = _run_history()
    assert code == 0, err
    assert sessions.trend() == (200, {"today": out["today"], "pain": out["pain"]})
    assert [s["score"] for s in out["pain"]["scores"]] == [10]
    assert out["pain"]["days"][-1]["scores"] == [10]


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"score": "11"}, 400, "from 0 (no pain) to 10"),
        ({"score": "-1"}, 400, "from 0 (no pain) to 10"),
        ({"score": "x"}, 400, "from 0 (no pain) to 10"),
        ({"score": ""}, 400, "from 0 (no pain) to 10"),
        ({"score": "3.5"}, 400, "from 0 (no pain) to 10"),
        ({"score": " 3"}, 400, "from 0 (no pain) to 10"),
        ({"score": "03"}, 400, "from 0 (no pain) to 10"),
        ({"score": "\u0663"}, 400, "from 0 (no pain) to 10"),  # an Arabic-Indic 3
        ({"score": "3" * 10_000}, 400, "from 0 (no pain) to 10"),
        ({"id": "short"}, 400, "not a session id"),
        ({"id": "../../etc/passwd-0123456789"}, 400, "not a session id"),
        ({"id": "f" * 32}, 404, "no session of this page"),
    ],
)
def test_a_bad_score_or_an_unknown_session_is_refused_in_one_line_and_writes_nothing(
    phone: Any, form: dict[str, str], status: int, words: str
) -> None:
    row = _done(phone)
    got, answer = phone.sessions().score({"id": PAGE, "score": "3", **form})
    assert got == status and not answer["recorded"]
    assert words in answer["message"] and "\n" not in answer["message"]
    assert len(answer["message"]) < 100
    assert _scores() == [] and _logged() == [row]


def test_no_log_yet_gives_an_empty_trend_and_makes_no_log(phone: Any) -> None:
    status, answer = phone.sessions().trend()
    assert status == 200 and answer["pain"]["scores"] == []
    assert (
        len(answer["pain"]["days"]) == 56 and answer["pain"]["days"][-1]["day"] == answer["today"]
    )
    assert not log_path().exists()
    assert phone.sessions().score({"id": PAGE, "score": "3"})[0] == 404


def test_a_log_that_cannot_be_read_gives_one_line_and_keeps_no_score(phone: Any) -> None:
    log_path().parent.mkdir(parents=True, exist_ok=True)
    log_path().write_bytes(b"not a database" * 100)
    status, answer = phone.sessions().trend()
    assert status == 503 and "not a SQLite database" in answer["message"]
    assert "\n" not in answer["message"]
    status, answer = phone.sessions().score({"id": PAGE, "score": "3"})
    assert (status, answer["recorded"]) == (503, False)
    assert len(phone.log) == 1 and "the pain score was not recorded" in phone.log[0]
    assert log_path().read_bytes() == b"not a database" * 100  # left as it is
