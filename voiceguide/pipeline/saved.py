"""The saved preferences on disk: where they are, read, and (the phone's) written.

The config file (``config.toml``, the user's) and ``phone.toml`` (the settings kept from the
phone, voiceguide's) live in the user config folder, or in ``$VOICEGUIDE_CONFIG_DIR`` when
that is set. Here the environment is read and the files opened; what their text says is
:mod:`voiceguide.plan.config` and :mod:`voiceguide.plan.kept`'s (pure).
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from pathlib import Path

from voiceguide.errors import SettingsError
from voiceguide.files import atomic_write, read_regular, user_folder
from voiceguide.plan.choices import Choices
from voiceguide.plan.config import Config, parse_config
from voiceguide.plan.kept import kept_choices, kept_tables, kept_text, with_fields

__all__ = [
    "CONFIG_NAME",
    "KEPT_NAME",
    "config_dir",
    "config_path",
    "keep",
    "kept_path",
    "load_config",
    "load_kept",
]

CONFIG_NAME = "config.toml"
KEPT_NAME = "phone.toml"
_MAX_CONFIG_BYTES = 64 * 1024
_MAX_KEPT_BYTES = 256 * 1024


def config_dir() -> Path:
    """``$VOICEGUIDE_CONFIG_DIR``, else the platform's user config folder for voiceguide."""
    return user_folder("config", "VOICEGUIDE_CONFIG_DIR")


def config_path() -> Path:
    return config_dir() / CONFIG_NAME


def kept_path() -> Path:
    return config_dir() / KEPT_NAME


def load_config(path: Path | None = None) -> Config | None:
    """The config file, every value checked; None when there is none."""
    path = path or config_path()
    try:
        raw = read_regular(path, _MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.EINVAL:
            reason = "the config file is not a regular file (a folder, a device or a pipe)"
        elif error.errno == errno.EFBIG:
            reason = f"the config file is larger than {_MAX_CONFIG_BYTES // 1024} KiB"
        else:
            reason = f"cannot read the config file: {error.strerror or error}"
        raise SettingsError(f"{path}: {reason}") from None
    return parse_config(raw, path)


def _read_kept(path: Path) -> bytes | None:
    """phone.toml's bytes; None when it is missing or cannot be read (it counts as empty)."""
    try:
        return read_regular(path, _MAX_KEPT_BYTES)
    except OSError:
        return None


def load_kept(routine: str, path: Path | None = None) -> Choices | None:
    """The settings kept from the phone for ``routine``, each value checked alone (a wrong
    one is left out); None when none are kept."""
    path = path or kept_path()
    return kept_choices(kept_tables(_read_kept(path)), routine, path)


def keep(routine: str, fields: Mapping[str, str], path: Path | None = None) -> Path:
    """Add the phone form's ``fields`` (values checked already) to what is kept for
    ``routine``: a whole new file renamed into place. Raises OSError."""
    path = path or kept_path()
    tables = with_fields(kept_tables(_read_kept(path)), routine, fields)
    atomic_write(path, kept_text(tables).encode("utf-8"))
    return path
