"""The course's language: English or Chinese, for everything tlhelpers shows a student.

The language is chosen like the track: the argument, then the environment variable
``TL_LANG``, then ``language`` in ``course.toml``, then English. The Chinese lessons select
Chinese themselves (their first code cell calls :func:`use_language`).

Messages are English in the code, marked for translation with :func:`_` (or :func:`ngettext`
for a count, :func:`N_` for a constant translated where it is shown), and translated from
the gettext catalog ``tlhelpers/locale/<language>/LC_MESSAGES/tlhelpers.po``, which Babel
reads (``scripts/translations.py catalog`` updates it from the code). A message the catalog
lacks stays English: a missing translation never breaks a lesson.

Example:
    >>> from tlhelpers.i18n import _, translations
    >>> _("✅ Correct: {message}").format(message="2 + 2 is 4.")  # the course's language: English
    '✅ Correct: 2 + 2 is 4.'
    >>> translations("zh").gettext("✅ Correct: {message}").format(message="2 + 2 等于 4。")
    '✅ 正确：2 + 2 等于 4。'
"""

from __future__ import annotations

import functools
import gettext
import io
import os
from pathlib import Path

from tlhelpers.settings import PACKAGE_DIR, choose

__all__ = ["LANGUAGES", "LazyText", "N_", "_", "catalog_path", "current_language", "ngettext", "pgettext", "translations", "use_language"]

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
SOURCE_LANGUAGE = "en"
DOMAIN = "tlhelpers"
LOCALE_DIR = PACKAGE_DIR / "locale"


def current_language(name: str | None = None) -> str:
    """The active language code: ``name``, else ``$TL_LANG``, else ``course.toml``'s ``language``, else ``"en"``.

    Raises:
        ValueError: the language is not one of :data:`LANGUAGES` (the message names them).

    Example:
        >>> current_language("en")
        'en'
        >>> current_language("fr")
        Traceback (most recent call last):
        ...
        ValueError: unknown language 'fr' (from argument); choose one of: en (English), zh (简体中文)
    """
    value, origin = choose(name, "TL_LANG", "language", SOURCE_LANGUAGE)
    if value not in LANGUAGES:
        choices = ", ".join(f"{code} ({label})" for code, label in LANGUAGES.items())
        raise ValueError(f"unknown language {value!r} (from {origin}); choose one of: {choices}")
    return value


def use_language(name: str) -> None:
    """Show tlhelpers' messages, tables and widgets in ``name`` from now on, in this process.

    Sets ``TL_LANG``, so processes started from here (a tuner's workers, a grading run) follow.

    Raises:
        ValueError: an unknown language (see :func:`current_language`).

    Example:
        >>> previous = os.environ.get("TL_LANG")
        >>> use_language("zh")
        >>> current_language()
        'zh'
        >>> use_language(previous or "en")
    """
    os.environ["TL_LANG"] = current_language(name)


def catalog_path(language: str) -> Path:
    """The gettext catalog (``.po``) of ``language``.

    Example:
        >>> catalog_path("zh").name
        'tlhelpers.po'
    """
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=8)
def _translations(language: str, stamp: float) -> gettext.NullTranslations:
    """The catalog of ``language`` compiled in memory (``stamp``: the ``.po``'s mtime, to reload edits)."""
    path = catalog_path(language)
    if language == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo

    from tlhelpers.display import show_chinese

    show_chinese()  # before the first translated title: figures and tables get a font and widths for it
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy and empty entries are left out: they stay English
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def translations(language: str | None = None) -> gettext.NullTranslations:
    """The gettext translations of ``language`` (default: the active one).

    Example:
        >>> translations("en").gettext("Hint")
        'Hint'
    """
    language = current_language(language)
    path = catalog_path(language)
    return _translations(language, path.stat().st_mtime if path.is_file() else 0.0)


def _(message: str) -> str:
    """``message`` in the active language (English when the catalog lacks it).

    Put placeholders in the message and fill them after translating, so the catalog holds
    one entry: ``_("unknown backbone {name!r}").format(name=name)``.

    Example:
        >>> _("a message no catalog has")
        'a message no catalog has'
    """
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count ``n``, translated (Chinese has one form).

    Example:
        >>> ngettext("{n} label", "{n} labels", 2).format(n=2) in ("2 labels", "2 个标注")
        True
    """
    return translations().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` translated in a ``context``, for a short English word that means two things.

    Example:
        >>> pgettext("progress unit", "run")
        'run'
    """
    return translations().pgettext(context, message)


def N_(message: str) -> str:
    """Mark a constant for the catalog without translating it yet; :func:`_` it where it is shown.

    Example:
        >>> N_("probe")
        'probe'
    """
    return message


class LazyText(str):
    """An English message that is shown in the active language (``str()``, ``print``, f-strings).

    It is the English ``str`` for everything else (comparisons, dict keys, ``len``), so code
    that reads it keeps working; mark the text with ``N_`` where it is defined.

    Example:
        >>> label = LazyText(N_("from scratch"))
        >>> label == "from scratch", f"{label}" in ("from scratch", "从头训练")
        (True, True)
    """

    __slots__ = ()

    def __str__(self) -> str:
        return _(str.__str__(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
