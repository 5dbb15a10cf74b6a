"""One declaration per setting (``voiceguide.plan.catalog``): every setting reaches the command
line, the config file, the phone's form and docs/options.md, and each place says what the
declaration says. A setting added to the declaration and forgotten anywhere fails here."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from voiceguide.cli import app
from voiceguide.pipeline.saved import load_config
from voiceguide.plan.catalog import CONFIG_KEYS, SETTINGS, Setting, form_json
from voiceguide.plan.choices import Choices, command_line
from voiceguide.plan.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP_JS = ROOT / "voiceguide" / "serve" / "static" / "app.js"
ROUTINE_COMMANDS = ("plan", "export", "play", "config", "serve", "log")

# a valid value of each setting, as the config file writes it and as typed on the command
# line: a new setting gets one here (what its checks must accept)
SAMPLES: dict[str, tuple[str, str]] = {
    "hold": ("40", "40"),
    "rounds": ("2", "2"),
    "reps": ("12", "12"),
    "sets": ("3", "3"),
    "rest": ("10", "10"),
    "voice": ('"gmw/en-us"', "gmw/en-us"),
    "rate": ("150", "150"),
    "verbosity": ('"coach"', "coach"),
    "intro": ('"short"', "short"),
    "pace": ('"slow"', "slow"),
    "breath": ('"4-6"', "4-6"),
    "fit": ('"15m"', "15m"),
    "bitrate": ('"128k"', "128k"),
    "log": ("false", "--no-log"),
    "check_in": ("false", "--no-check-in"),
    "bed": ('"pad"', "pad"),
    "bed_level": ("-20", "-20"),
    "lexicon": ('{ piriformis = "pirri-formiss" }', ""),
}


def _options(command: str) -> set[str]:
    group: Any = typer.main.get_command(app)
    return {opt for param in group.commands[command].params for opt in param.opts}


def _all_options() -> set[str]:
    group: Any = typer.main.get_command(app)
    return {
        o for c in group.commands.values() for p in c.params for o in (*p.opts, *p.secondary_opts)
    }


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda s: s.name)
def test_the_command_line_takes_every_setting_it_should(declared: Setting) -> None:
    if declared.command_line == "routine":
        for command in ROUTINE_COMMANDS:
            assert declared.option in _options(command), (command, declared.option)
    elif declared.command_line == "command":
        assert declared.option in _all_options()
    else:
        assert declared.option not in _all_options()


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda s: s.name)
def test_the_config_file_takes_every_setting(declared: Setting, tmp_path: Path) -> None:
    assert declared.name in CONFIG_KEYS
    assert declared.name in SAMPLES, f"give {declared.name} a sample value in SAMPLES"
    path = tmp_path / "config.toml"
    path.write_text(f"{declared.name} = {SAMPLES[declared.name][0]}\n", encoding="utf-8")
    config = load_config(path)
    assert config is not None
    if declared.per_exercise:
        assert [o.option for o in config.top.overrides] == [declared.name]
    else:
        assert getattr(config.top, declared.attribute) not in (None, ())


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_field_with_the_declared_default(declared: Setting) -> None:
    if declared.per_exercise:
        return  # an exercise's field: the routine's own number is the default
    assert declared.attribute in {f.name for f in dataclasses.fields(Choices)}
    if declared.renders:
        field = {f.name: f for f in dataclasses.fields(Settings)}[declared.attribute]
        assert field.default == declared.default or declared.kind == "table"


@pytest.mark.parametrize(
    "declared",
    [s for s in SETTINGS if s.command_line != "none" and s.kind != "switch"],
    ids=lambda s: s.name,
)
def test_the_command_line_and_the_config_file_check_a_value_alike(declared: Setting) -> None:
    raw = SAMPLES[declared.name][1]
    if declared.per_exercise:
        assert command_line([(declared.name, raw)]).overrides[0].option == declared.name
    else:
        assert getattr(command_line(**{declared.name: raw}), declared.attribute) is not None


def test_the_phone_form_is_the_declaration() -> None:
    on_form = [s for s in SETTINGS if s.on_form]
    assert [f["name"] for f in form_json()] == [s.name for s in on_form]
    for entry in form_json():
        assert entry["label"] and entry["type"] in ("per exercise", "integer", "choice", "text")
    # the page builds its fields from api/form: no setting is named in its code but the voice
    # (whose field gets the list of installed voices)
    script = APP_JS.read_text(encoding="utf-8")
    named = {s.name for s in on_form if re.search(rf"""["']{s.name}["']""", script)}
    assert named <= {"voice"}


def test_the_phone_form_has_a_value_for_every_field() -> None:
    from voiceguide import pipeline
    from voiceguide.serve import Service

    def prepare(args: Any) -> Any:
        return pipeline.prepare(None, command_line())

    service = Service(None, (), prepare, lambda *a: None, Path("unused"), lambda line: None)
    values = service.form_values()
    for declared in SETTINGS:
        if declared.per_exercise:
            assert any(name.startswith(declared.name + ":") for name in values), declared.name
        elif declared.on_form:
            assert values[declared.name] == declared.typed(declared.default)


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda s: s.name)
def test_docs_options_names_every_setting(declared: Setting) -> None:
    text = (ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    if declared.command_line != "none":
        assert re.search(rf"`{declared.option}\b", text), declared.option
    saved = text.partition("## Saved preferences")[2].partition("\n## ")[0]
    assert f"`{declared.name}`" in saved or f"[{declared.name}]" in saved, declared.name
