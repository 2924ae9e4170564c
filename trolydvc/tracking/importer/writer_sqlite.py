"""The SQLite writer: the old statuses of a batch's codes are looked up, an ``executemany``
upsert follows, then the history is written from a join."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from trolydvc.tracking.importer.columns import STAGE_COLUMNS, UPDATABLE
from trolydvc.tracking.importer.rows import iso_text
from trolydvc.tracking.importer.writer import DEFERRED_TABLES, HISTORY_TIME, Writer

# Page cache during an SQLite import, in KiB (negative PRAGMA value): 512 MiB at most.
_SQLITE_IMPORT_CACHE_KIB = -524288


class SqliteWriter(Writer):
    def _prepare(self) -> None:
        # A bigger page cache for the duration of the import: the indexes of a large table no
        # longer fit in the default one, and SQLite would spill dirty pages to the WAL in the
        # middle of the transaction. Restored by close(); durability settings are untouched.
        self._cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        self.conn.exec_driver_sql(f"PRAGMA cache_size={_SQLITE_IMPORT_CACHE_KIB}")
        # The import is one transaction from here on, DDL included (pysqlite would otherwise
        # open it only at the first INSERT/UPDATE/DELETE); it also takes the write lock now.
        self.conn.exec_driver_sql("BEGIN IMMEDIATE")
        self.conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS import_codes (code TEXT, old_status TEXT)"
        )
        distinct = " OR ".join(
            f"(excluded.{c} IS NOT NULL AND excluded.{c} IS NOT dossiers.{c})" for c in UPDATABLE
        )
        now = iso_text(self.params["now"])  # our own constant, safe to inline
        self.sql_codes = "INSERT INTO import_codes (code) VALUES (?)"
        self.sql_mark = (
            "UPDATE import_codes SET old_status = d.status FROM dossiers d "
            "WHERE d.code = import_codes.code"
        )
        self.sql_upsert = (
            f"INSERT INTO dossiers ({self.cols}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * len(STAGE_COLUMNS))}, '{now}', '{now}') "
            f"ON CONFLICT (code) DO UPDATE SET {self.sets}, updated_at = excluded.updated_at "
            f"WHERE {distinct}"
        )
        self.sql_history = text(
            "INSERT INTO dossier_status_history (dossier_id, status, changed_at, source, "
            "recorded_at) SELECT d.id, d.status, "
            + HISTORY_TIME.format(old="s.old_status IS NOT NULL", d="d")
            + ", :source, :now FROM import_codes s JOIN dossiers d ON d.code = s.code "
            "WHERE s.old_status IS NULL OR s.old_status <> d.status ORDER BY d.id"
        ).bindparams(*self.ts)

    def _drop_deferred(self) -> list[str]:
        rows = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            f"AND tbl_name IN {DEFERRED_TABLES} AND sql IS NOT NULL "
            "AND substr(sql, 1, 13) <> 'CREATE UNIQUE'"
        ).all()
        for name, _sql in rows:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows]

    def _upsert(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        conn = self.conn
        conn.exec_driver_sql("DELETE FROM import_codes")
        conn.exec_driver_sql(self.sql_codes, [(row[0],) for row in rows])
        conn.exec_driver_sql(self.sql_mark)
        existing = conn.exec_driver_sql(
            "SELECT count(*) FROM import_codes WHERE old_status IS NOT NULL"
        ).scalar_one()
        changed = conn.exec_driver_sql(self.sql_upsert, rows).rowcount
        conn.execute(self.sql_history, self.params)
        return existing, changed

    def _init_insert_new(self, cols: str, history: str) -> None:
        now_s = iso_text(self.params["now"])
        self.sql_insert_new = (
            f"INSERT INTO dossiers ({cols}) "
            f"VALUES ({', '.join('?' * len(STAGE_COLUMNS))}, '{now_s}', '{now_s}')"
        )
        self.sql_history_new = text(history).bindparams(*self.ts)

    def _insert_new(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self.conn
        params = {**self.params, "after": self._after, "n": len(rows)}
        conn.exec_driver_sql(self.sql_insert_new, rows)
        conn.execute(self.sql_history_new, params)
        self._after = conn.exec_driver_sql("SELECT max(id) FROM dossiers").scalar_one()

    def close(self) -> None:
        self.conn.exec_driver_sql(f"PRAGMA cache_size={int(self._cache_size)}")
