"""Personal data handling for dossiers: phone numbers.

- ``normalize_phone(text) -> str | None``: digits of a Vietnamese phone number, ``+84``/``84``
  folded to a leading ``0``; None when it is not a plausible phone number.
- ``phone_hash(digits) -> str``: keyed BLAKE2b-256 (a MAC; hex) of the normalised digits under the deployment
  key: ``TROLYDVC_PHONE_KEY`` if set, else a random key created once in ``var/phone_hash.key``
  (mode 0600). The database keeps only this hash and the last four digits.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable
from functools import lru_cache

from trolydvc.config import settings

_NON_DIGITS = re.compile(r"\D+")


def normalize_phone(text: str | None) -> str | None:
    if not text:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    if re.search(r"[^\d\s+().\-]", raw):
        return None
    digits = _NON_DIGITS.sub("", raw)
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif not digits.startswith("0") and len(digits) in (9, 10):
        digits = "0" + digits
    if not 10 <= len(digits) <= 11 or not digits.startswith("0"):
        return None
    return digits


@lru_cache(maxsize=4)
def _key(path_hint: str) -> bytes:
    env = settings().phone_key.get_secret_value()
    if env:
        return env.encode()
    from pathlib import Path

    path = Path(path_hint)
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key


def phone_key() -> bytes:
    from trolydvc.config import VAR_DIR

    return _key(str(VAR_DIR / "phone_hash.key"))


def _blake_key() -> bytes:
    # BLAKE2b takes keys of at most 64 bytes: derive one from the configured key.
    return hashlib.sha512(b"trolydvc-phone:" + phone_key()).digest()


def phone_hasher() -> Callable[[str], str]:
    """A function digits -> hex MAC, with the key loaded once (used by the bulk importer)."""
    key = _blake_key()
    blake2b = hashlib.blake2b

    def _hash(digits: str) -> str:
        return blake2b(digits.encode(), key=key, digest_size=32).hexdigest()

    return _hash


def phone_hash(digits: str) -> str:
    return phone_hasher()(digits)
