"""Translations of the strings the bot itself writes (Babel gettext catalogs under locales/).

Vietnamese is the default language; English is the second. Message ids in the code are English
(`_("...")`, extracted by `pybabel extract -F babel.cfg`); `locales/vi/LC_MESSAGES/messages.po`
translates every one of them and `locales/en/...` keeps the ids as they are.

A second domain, `answers`, holds the labels of the assistant's answers about procedures
(actions/language.py): there the message ids are the Vietnamese labels themselves (the answers
are written in Vietnamese first, around official Vietnamese content) and only
`locales/en/LC_MESSAGES/answers.po` exists; Vietnamese answers use the ids as they are.

The answers' language is a context variable (:func:`answering_in`, set per action by
actions/language.py ``@speaks``; Vietnamese outside it): :func:`tr` translates a label of the
``answers`` domain into it, wherever the label is written (the actions, the dossier lookup and
the statistics of trolydvc/tracking, :data:`ANSWER_SOURCES`), so one label has one source and
the Telegram bot's and the CLI's own use of those modules stays Vietnamese. Worker threads started
with ``asyncio.to_thread`` copy the context, so they write in the action's language.

`make setup` compiles the `.po` files to `.mo`. When a `.mo` file is missing or older than its
`.po` (a fresh clone before setup, or a translator's edit), the catalog is compiled in memory
from the `.po` instead, so the bot never silently falls back to the wrong language.
"""

from __future__ import annotations

import gettext as _gettext
import html
import io
import re
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from trolydvc.config import LOCALES_DIR

DOMAIN = "messages"
ANSWERS_DOMAIN = "answers"
DEFAULT_LANGUAGE = "vi"
LANGUAGES: tuple[str, ...] = ("vi", "en")
LANGUAGE_NAMES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}
_TAG = re.compile(r"<[^>]*>")
# Where the labels of the ``answers`` domain are written (extraction, and the test that every
# one of them is translated: tests/actions/test_language.py).
ANSWER_SOURCES: tuple[str, ...] = (
    "actions",
    "trolydvc/tracking/fields.py",
    "trolydvc/tracking/lookup.py",
    "trolydvc/tracking/stats.py",
)
_ANSWER_LANGUAGE: ContextVar[str] = ContextVar("answer_language", default=DEFAULT_LANGUAGE)
# Number formats (trolydvc.formatting) per answer language: 50.000 đồng / 50,000 VND.
_NUMBER_LOCALE = {"vi": "vi_VN", "en": "en"}


def normalize_language(code: str | None) -> str:
    """Map a client language code ('en-US', 'vi', None, 'fr') to a supported language."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def _load_po(po_path: Path, domain: str = DOMAIN) -> _gettext.GNUTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as fh:
        catalog = read_po(fh, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


@lru_cache(maxsize=2 * len(LANGUAGES) + 2)
def translations(
    language: str, locales_dir: Path = LOCALES_DIR, domain: str = DOMAIN
) -> _gettext.NullTranslations:
    """The catalog of `language` (compiled .mo, or the .po when the .mo is missing or stale)."""
    language = normalize_language(language)
    folder = locales_dir / language / "LC_MESSAGES"
    mo_path, po_path = folder / f"{domain}.mo", folder / f"{domain}.po"
    if mo_path.exists() and (
        not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime
    ):
        with mo_path.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    if po_path.exists():
        return _load_po(po_path, domain)
    return _gettext.NullTranslations()


def gettext(language: str | None) -> Callable[[str], str]:
    """`_ = gettext(lang)` then `_("Hello")`."""
    return translations(normalize_language(language)).gettext


def ngettext(language: str | None) -> Callable[[str, str, int], str]:
    return translations(normalize_language(language)).ngettext


def plain(message: str) -> str:
    """A catalog message (Telegram HTML: ``<b>`` and escaped text) as plain text, for the web
    widget, which shows text and never markup."""
    return html.unescape(_TAG.sub("", message))


# ---- the answers' language -------------------------------------------------------------------
def N_(label: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks a label kept in a constant for extraction; translate it where it is shown."""
    return label


def current() -> str:
    """The language of the answer being written ("vi" outside an action)."""
    return _ANSWER_LANGUAGE.get()


def english() -> bool:
    return current() == "en"


def number_locale() -> str:
    """The Babel locale of the numbers of the answer being written (trolydvc.formatting)."""
    return _NUMBER_LOCALE.get(current(), "vi_VN")


def tr(label: str) -> str:
    """``label`` (a Vietnamese label of the answers) in the answer's language."""
    return translations(current(), domain=ANSWERS_DOMAIN).gettext(label)


def ntr(label: str, plural: str, n: float) -> str:
    """``label`` for a count ``n`` ("1 working day", "3 working days")."""
    count = 1 if n == 1 else 2
    return translations(current(), domain=ANSWERS_DOMAIN).ngettext(label, plural, count)


class answering_in:  # noqa: N801 - used as a context manager, like a function
    """``with answering_in("en"): ...`` writes the answers inside in that language."""

    def __init__(self, language: str) -> None:
        self.language = normalize_language(language)

    def __enter__(self) -> str:
        self._token = _ANSWER_LANGUAGE.set(self.language)
        return self.language

    def __exit__(self, *exc: object) -> None:
        _ANSWER_LANGUAGE.reset(self._token)
