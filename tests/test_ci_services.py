"""Tests that need PostgreSQL (or Redis) skip on a developer's machine without the server, and
fail in CI (CI=true), so a green CI run cannot hide that they never ran."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from trolydvc.config import ROOT

# Port 1 on loopback: nothing listens there, the connection is refused at once.
NO_SERVER = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"
POSTGRES_TESTS = ["tests/tracking/test_db.py", "tests/bot/test_postgres.py"]


def run_postgres_tests(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TROLYDVC_TEST_PG_ADMIN_URL=NO_SERVER, PYTHONPATH=str(ROOT))
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "postgres",
         *POSTGRES_TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_postgresql_fails_the_tests(ci: str):
    result = run_postgres_tests(ci)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "4 failed" in result.stdout or "4 errors" in result.stdout, result.stdout[-3000:]
    assert "CI=true: tests that need this server must run" in result.stdout


def test_elsewhere_a_missing_postgresql_skips_them():
    result = run_postgres_tests(None)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 skipped" in result.stdout, result.stdout[-3000:]
