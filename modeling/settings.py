"""The deployment's settings file: one TOML file read by every layer that has settings.

Where it is: ``$VBC_SETTINGS`` when set, else ``settings.toml`` in the workspace. A missing file
means the single-user defaults. Each section belongs to the code that validates it (``[store]``
to the store, ``[app]``, ``[auth]``, ``[roles]`` and ``[suppression]`` to the app); this module
only finds the file and parses it, so the rule for *where* settings live has one home.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modeling.errors import SettingsError

SETTINGS_FILE = "settings.toml"
SETTINGS_ENV = "VBC_SETTINGS"


def settings_path(workspace: str | Path) -> Path:
    """``$VBC_SETTINGS`` when it is set, else ``<workspace>/settings.toml``."""
    chosen = os.environ.get(SETTINGS_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    return Path(workspace).expanduser().resolve() / SETTINGS_FILE


def read_settings(workspace: str | Path) -> Mapping[str, Any]:
    """The settings file's tables, or an empty mapping when there is no file.

    A file that is not valid UTF-8 TOML is a ``SettingsError`` naming the file and the line.
    """
    path = settings_path(workspace)
    if not path.is_file():
        if os.environ.get(SETTINGS_ENV):
            raise SettingsError(
                f"${SETTINGS_ENV} names {path}, which is not a file. Point it at a settings "
                f"TOML file, or unset it to use {SETTINGS_FILE} in the workspace."
            )
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SettingsError(f"Settings file {path} is not UTF-8 text ({exc.reason}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Settings file {path} is not valid TOML: {exc}.") from None


def section(settings: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """One table of the settings (empty when absent); a ``SettingsError`` when ``name`` is
    present but is not a table."""
    value = settings.get(name, {})
    if not isinstance(value, Mapping):
        raise SettingsError(f"Settings: [{name}] must be a table, not {type(value).__name__}.")
    return value
