"""The course's settings file, ``course.toml``: where it is and what it says.

:mod:`tlhelpers.config` (track, profile) and :mod:`tlhelpers.i18n` (language) both read it;
each applies its own environment variable first (``TL_TRACK``, ``TL_LANG``, ...).

Example:
    >>> from tlhelpers.settings import find_config, read_settings
    >>> find_config() is None or "track" in read_settings(find_config())[0]
    True
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

__all__ = ["CONFIG_NAME", "PACKAGE_DIR", "choose", "find_config", "read_settings"]

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_NAME = "course.toml"


def find_config(start: Path | None = None) -> Path | None:
    """Return the nearest ``course.toml`` in ``start`` or its parents, else the repo's.

    Example:
        >>> find_config() is None or find_config().name == "course.toml"
        True
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    repo_config = PACKAGE_DIR.parent / CONFIG_NAME
    return repo_config if repo_config.is_file() else None


def read_settings(path: Path | None) -> tuple[dict[str, str], str]:
    """The settings in ``path`` (None: no file) as strings, and where they came from.

    Example:
        >>> read_settings(Path("/nonexistent/course.toml"))
        ({}, 'defaults')
    """
    if path is None or not path.is_file():
        return {}, "defaults"
    return dict(_parsed(path, path.stat().st_mtime_ns)), str(path)


def choose(arg: str | None, env: str, key: str, default: str) -> tuple[str, str]:
    """A setting and where it came from: ``arg``, else ``$env``, else ``course.toml``'s ``key``, else ``default``.

    The origin (``"argument"``, ``"$TL_TRACK"``, the file's path or ``"defaults"``) lets an
    error say where a bad value was set.

    Example:
        >>> choose("zh", "TL_LANG", "language", "en")
        ('zh', 'argument')
    """
    if arg is not None:
        return arg, "argument"
    if os.environ.get(env):
        return os.environ[env], f"${env}"
    settings, origin = read_settings(find_config())
    if key in settings:
        return settings[key], origin
    return default, "defaults"


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, stamp: int) -> tuple[tuple[str, str], ...]:
    """``path``'s settings, parsed once per version of the file (``stamp``: its mtime): every
    translated message asks for the language, so it must not read the file each time."""
    with path.open("rb") as f:
        return tuple((k, str(v)) for k, v in tomllib.load(f).items())
