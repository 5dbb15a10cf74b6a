"""``history --plot``: the pain scores as an SVG or PNG picture that shows the points entered
(parsed back here), the days practised and the weekly average; written whole or not at all,
with the same refusals as ``history --export``."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.cli import run
from tests.practice.test_pain import one_line
from voiceguide.practice import PainTrend, log_path, pain_trend
from voiceguide.practice.pain_plot import HEIGHT, WIDTH, pain_png, pain_scene, pain_svg

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 3, 29)  # a Sunday
SCORES = [(TODAY - timedelta(days=d), s) for d, s in ((0, 3), (1, 0), (2, 10), (9, 7), (9, 5))]
PRACTISED = {TODAY, TODAY - timedelta(days=2)}


def _trend() -> PainTrend:
    return pain_trend(SCORES, PRACTISED, TODAY)


def test_the_svg_shows_every_score_entered_the_days_practised_and_the_weekly_line() -> None:
    root = ET.fromstring(pain_svg(_trend()))
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    dots = root.findall(f"{SVG}circle[@class='score']")
    shown = sorted(
        (date.fromisoformat(d.get("data-day", "")), int(d.get("data-score", ""))) for d in dots
    )
    assert shown == sorted(SCORES)
    # a higher score is drawn higher (smaller y); the same day, the same x
    by_score = {int(d.get("data-score", "")): d for d in dots}
    assert (
        float(by_score[10].get("cy", ""))
        < float(by_score[3].get("cy", ""))
        < float(by_score[0].get("cy", ""))
    )
    assert by_score[7].get("cx") == by_score[5].get("cx") != by_score[3].get("cx")
    marks = root.findall(f"{SVG}polygon[@class='session']")
    assert {date.fromisoformat(m.get("data-day", "")) for m in marks} == PRACTISED
    (weekly,) = root.findall(f"{SVG}polyline[@class='weekly']")
    assert len(weekly.get("points", "").split()) == 2  # two weeks with scores
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Back pain as entered, 0 (no pain) to 10" in texts
    assert "average 5.0 in the last 2 weeks (5 scores)" in texts


def test_the_png_has_the_chart_s_dots_where_the_svg_has_them() -> None:
    trend = _trend()
    image = Image.open(io.BytesIO(pain_png(trend)))  # (in memory: nothing to close)
    assert image.format == "PNG" and image.size == (2 * WIDTH, 2 * HEIGHT)
    rgb = image.convert("RGB")
    dots = [s for s in pain_scene(trend) if s.kind == "dot" and s.data]
    assert len(dots) == len(SCORES)
    for dot in dots:
        ((x, y),) = dot.points
        assert rgb.getpixel((round(2 * x), round(2 * y))) == (0x1F, 0x6F, 0xB2)
    assert rgb.getpixel((5, 5)) == (255, 255, 255)
    assert pain_png(trend) == pain_png(trend)  # same trend, same bytes


def test_no_score_is_a_chart_that_says_so() -> None:
    root = ET.fromstring(pain_svg(pain_trend([], set(), TODAY)))
    assert root.findall(f"{SVG}circle[@class='score']") == []
    assert "No scores in these days" in "".join(t.text or "" for t in root.iter(f"{SVG}text"))


def test_history_plot_writes_svg_and_png_of_the_scores_logged(tmp_path: Path) -> None:
    assert run("log", "--pain", "3").returncode == 0
    assert run("log", "outer-hip", "--pain", "6", "--at", "yesterday 18:00").returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    svg, png = out / "pain.svg", out / "pain.png"
    result = run("history", "--plot", str(svg))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote the pain chart (2 scores, ")
    dots = ET.parse(svg).getroot().findall(f"{SVG}circle[@class='score']")
    assert sorted(int(d.get("data-score", "")) for d in dots) == [3, 6]
    assert len(ET.parse(svg).getroot().findall(f"{SVG}polygon[@class='session']")) == 1
    assert run("history", "--plot", str(png)).returncode == 0
    with Image.open(png) as image:
        assert image.size == (2 * WIDTH, 2 * HEIGHT)
    since = run("history", "--plot", str(svg), "--since", "2026-01-01")
    assert since.returncode == 0 and "01 Jan 2026 to " in since.stdout
    assert sorted(os.listdir(out)) == ["pain.png", "pain.svg"]  # no temporary left


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("pain.jpg", "give a file name ending in .svg or .png"),
        ("folder.svg", "is a folder"),
        ("", "ending in .svg or .png"),
    ],
)
def test_a_bad_plot_target_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, target: str, said: str
) -> None:
    assert run("log", "--pain", "4").returncode == 0
    out = tmp_path / "out"
    (out / "folder.svg").mkdir(parents=True)
    result = run("history", "--plot", str(out / target) if target else "")
    assert result.returncode == 2 and said in one_line(result), result.stderr
    assert os.listdir(out) == ["folder.svg"] and os.listdir(out / "folder.svg") == []


def test_the_plot_never_goes_over_the_log_or_into_its_folder() -> None:
    assert run("log", "--pain", "4").returncode == 0
    inside = log_path().parent / "pain.svg"
    result = run("history", "--plot", str(inside))
    assert result.returncode == 2 and "--plot" in one_line(result)
    assert not inside.exists()
    before = log_path().read_bytes()
    assert run("history", "--plot", str(log_path())).returncode == 2
    assert log_path().read_bytes() == before


# ---------------------------------------------------------------- the docs' picture

DOCS_PICTURE = Path(__file__).parents[2] / "docs" / "pain-chart.svg"


def docs_example() -> PainTrend:
    """Eight weeks of a made-up listener: a score most mornings, sessions most days."""
    scores = []
    practised = set()
    for back in range(55, -1, -1):
        day = TODAY - timedelta(days=back)
        if back % 7 != 3:  # one morning a week without a score
            scores.append((day, min(10, max(0, 3 + back // 14 + (back * 7) % 3 - 1))))
        if back % 5 != 1:
            practised.add(day)
    return pain_trend(scores, practised, TODAY)


def test_the_picture_in_the_docs_is_what_the_code_draws() -> None:
    # to draw it again after a change: python -m tests.practice.test_plot
    assert DOCS_PICTURE.read_text(encoding="utf-8") == pain_svg(docs_example())


if __name__ == "__main__":
    DOCS_PICTURE.write_text(pain_svg(docs_example()), encoding="utf-8")
