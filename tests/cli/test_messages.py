"""Messages that name their source: a config file saved with a BOM is read, a voice from
the config file is said of its key, an exercise script given as the routine is said to be
one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers.cli import run


def _config(tmp_path: Path, data: bytes) -> dict[str, str]:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "config.toml").write_bytes(data)
    return {"VOICEGUIDE_CONFIG_DIR": str(folder)}


def test_a_config_saved_with_a_bom_is_read(tmp_path: Path) -> None:
    env = _config(tmp_path, b'\xef\xbb\xbfverbosity = "minimal"\n')
    result = run("config", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert '"minimal"' in result.stdout


@pytest.mark.espeak
def test_a_voice_from_the_config_file_is_said_of_its_key(tmp_path: Path) -> None:
    env = _config(tmp_path, b'voice = "nonexistent/voice"\n')
    env["VOICEGUIDE_CACHE_DIR"] = str(tmp_path / "cache")
    result = run("plan", env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"{tmp_path / 'config' / 'config.toml'}: key 'voice' = 'nonexistent/voice': " in line
    assert "--voice" not in line
    given = run("plan", "--voice", "nonexistent/voice", env=env)
    assert given.returncode == 2 and "--voice 'nonexistent/voice'" in given.stderr


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_an_exercise_script_given_as_the_routine_is_said_to_be_one(command: str) -> None:
    result = run(command, str(REPO / "scripts" / "supine-hip-stretch.yaml"))
    assert result.returncode == 2
    said = result.stdout + result.stderr
    assert "this is an exercise script, not a routine" in said and "unknown field" not in said
