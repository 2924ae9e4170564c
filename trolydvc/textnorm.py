"""Vietnamese text normalisation, shared by the catalog search, the bot and the Rasa components.

Pure Python, standard library only, compatible with Python 3.10 (the Rasa environment imports it).
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC with collapsed whitespace (user text often arrives decomposed, NFD)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics, keeping case: 'Đăng ký' -> 'Dang ky'."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used for matching: 'Đăng  Ký' -> 'dang ky'."""
    return strip_diacritics(nfc(text)).lower()
