"""Which exercises a session completed, skipped or stopped in, from what the player said."""

from __future__ import annotations

from voiceguide.practice.coverage import ExerciseState, Outline, Part, Tracker

E = ExerciseState
C, S, X, P, N, W = (E.COMPLETED, E.SKIPPED, E.STOPPED, E.PLAYING, E.NOT_PLAYED, E.PENDING)

# intro 0-10 s, a: 10-40 s (holds 15-25, 28-38), b: 40-70 s (a set 45-65), closing 70-75 s
OUTLINE = Outline(
    "Tiny",
    75_000,
    (
        Part("a", "A", 10_000, 40_000, ((15_000, 25_000), (28_000, 38_000))),
        Part("b", "B", 40_000, 70_000, ((45_000, 65_000),)),
    ),
    {"voice": "x"},
)


def play(tracker: Tracker, from_ms: int, to_ms: int, at_s: float, step_ms: int = 500) -> float:
    """Samples every half second of playing from ``from_ms`` to ``to_ms``; the clock after."""
    ms = from_ms
    while ms < to_ms:
        tracker.feed("playing", ms, at_s)
        ms += step_ms
        at_s += step_ms / 1000
    tracker.feed("playing", to_ms, at_s)
    return at_s


def test_played_through_every_exercise_is_completed() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 74_800, 100.0)
    assert t.states() == [C, C] and not t.completed
    t.feed("done", 75_000, at + 0.2)
    assert t.states() == [C, C] and t.completed and t.ended == "done"
    assert t.heard_ms() == 75_000


def test_the_current_exercise_is_playing_and_the_next_pending() -> None:
    t = Tracker(OUTLINE)
    play(t, 0, 20_000, 0.0)
    assert t.states() == [P, W]


def test_skipping_past_an_exercise_marks_it_skipped() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 16_000, 0.0)
    at = play(t, 40_000, 75_000, at + 0.3)  # "next" twice: a jump, not heard
    t.feed("done", 75_000, at)
    assert t.states() == [S, C] and not t.completed and t.heard_ms(OUTLINE.parts[0]) == 6_000


def test_stopping_in_an_exercise_marks_it_and_leaves_the_rest_not_played() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 22_000, 0.0)
    t.feed("stopped", 22_100, at + 0.1)
    assert t.states() == [X, N] and t.ended == "stopped" and t.position_ms == 22_100


def test_a_pause_is_not_heard_time_and_playing_on_after_it_is() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 20_000, 0.0)
    t.feed("paused", 20_050, at + 0.1)
    t.feed("paused", 20_050, at + 60)
    at = play(t, 20_050, 40_500, at + 61)
    assert t.states()[0] is C and t.heard_ms() == 40_500


def test_going_back_to_a_skipped_exercise_can_complete_it() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 12_000, 0.0)
    at = play(t, 40_000, 50_000, at + 0.3)
    assert t.states() == [S, P]
    at = play(t, 10_000, 40_000, at + 0.3)  # "back" twice
    at = play(t, 40_000, 75_000, at + 0.3)
    t.feed("done", 75_000, at)
    assert t.states() == [C, C] and t.completed


def test_a_hold_heard_only_in_part_does_not_complete_the_exercise() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 20_000, 0.0)
    at = play(t, 26_000, 75_000, at + 0.3)  # the first hold cut after 5 of 10 s
    t.feed("done", 75_000, at)
    assert t.states() == [S, C]


def test_starting_from_the_second_exercise_leaves_the_first_not_played() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 40_000, 75_000, 0.0)
    t.feed("done", 75_000, at)
    assert t.states() == [N, C] and not t.completed


def test_stopping_in_the_closing_words_still_completes_the_session() -> None:
    t = Tracker(OUTLINE)
    at = play(t, 0, 72_000, 0.0)
    t.feed("stopped", 72_000, at)
    assert t.states() == [C, C] and t.completed and t.ended == "stopped"


def test_nothing_is_taken_after_the_end() -> None:
    t = Tracker(OUTLINE)
    t.feed("stopped", 0, 0.0)
    t.feed("playing", 30_000, 1.0)
    assert t.ended == "stopped" and t.position_ms == 0 and t.states() == [N, N]
