"""The dashboard's tables on PostgreSQL: the migration (up and down), accounts, login limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import pytest
from alembic import command

from trolydvc.db import reset_engines
from trolydvc.db.migrate import alembic_config, current_revision, head_revision
from trolydvc.db.scratch import PostgresUnavailable, scratch_postgres
from trolydvc.web.dashboard.accounts import LoginResult, add_account, authenticate


@pytest.mark.postgres
def test_accounts_and_login_limits_on_postgres(
    monkeypatch: pytest.MonkeyPatch, require_service: Callable[[str], NoReturn]
) -> None:
    try:
        with scratch_postgres("trolydvc_dash") as url:
            monkeypatch.setenv("DATABASE_URL", url)
            monkeypatch.setenv("DASHBOARD_LOGIN_MAX_FAILURES", "2")
            reset_engines()
            try:
                assert current_revision(url) == head_revision()
                add_account("admin.pg", "mat-khau-du-dai-1", "admin")
                assert (
                    authenticate("admin.pg", "mat-khau-du-dai-1", "10.0.0.1")[0] is LoginResult.OK
                )
                for _ in range(2):
                    assert authenticate("admin.pg", "sai", "10.0.0.2")[0] is LoginResult.WRONG
                assert (
                    authenticate("admin.pg", "mat-khau-du-dai-1", "10.0.0.3")[0]
                    is LoginResult.LIMITED
                )
            finally:
                reset_engines()
            config = alembic_config(url)
            command.downgrade(config, "0004_lookup_guard")
            assert current_revision(url) == "0004_lookup_guard"
            command.upgrade(config, "head")
            assert current_revision(url) == head_revision()
    except PostgresUnavailable as exc:
        require_service(str(exc))
