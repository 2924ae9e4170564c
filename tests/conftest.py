"""Shared test configuration. Area-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn

import pytest

from trolydvc.config import settings

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def service_missing(message: str) -> NoReturn:
    """A server a test needs (PostgreSQL, Redis) is not reachable: skip the test on a developer's
    machine, fail it in CI (CI=true), where a skip would hide that it never ran."""
    if settings().in_ci:
        pytest.fail(f"{message} (CI=true: tests that need this server must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def require_service() -> Callable[[str], NoReturn]:
    """`service_missing` for the conftest files of each area (any fixture scope)."""
    return service_missing
