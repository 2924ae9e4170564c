"""Fixtures for the catalog tests: the raw national export and the shipped catalog."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from trolydvc import config
from trolydvc.catalog import Catalog, load_catalog

EXPORT = config.NATIONAL_EXPORT


@cache
def _raw_records() -> dict[str, tuple[int, str]]:
    """code -> (line number, raw line) of the national export."""
    out: dict[str, tuple[int, str]] = {}
    with EXPORT.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            rec = json.loads(line)
            out[rec["ma_thu_tuc"]] = (lineno, line)
    return out


def raw_record(code: str) -> dict[str, Any]:
    return json.loads(_raw_records()[code][1])


def raw_line(code: str) -> str:
    return _raw_records()[code][1]


@pytest.fixture(scope="session")
def shipped() -> Catalog:
    return load_catalog()


@pytest.fixture
def isolated_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the derived cache at a temp var/ so tests never touch the real one."""
    var = tmp_path / "var"
    monkeypatch.setattr(config, "VAR_DIR", var)
    return var


@pytest.fixture(scope="session")
def raw():
    """raw(code) -> the record of the national export as a dict."""
    return raw_record


@pytest.fixture(scope="session")
def raw_lines():
    """raw_lines(code) -> the record's line of the national export, unparsed."""
    return raw_line
