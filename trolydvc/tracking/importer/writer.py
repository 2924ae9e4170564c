"""The database writer: batches of staging tuples -> dossiers and their status history, in one
transaction (PostgreSQL: binary COPY + one statement per batch; SQLite: executemany upsert)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, text

from trolydvc.tracking.fields import VN_TZ
from trolydvc.tracking.importer.columns import STAGE_COLUMNS, UPDATABLE
from trolydvc.tracking.importer.rows import iso_text

# Their PostgreSQL types for a binary COPY (received_at .. returned_at are the timestamps).
_BINARY_TYPES = ("varchar",) * 6 + ("timestamp",) * 4 + ("varchar",) * 6

_HISTORY_TIME = (
    # A new dossier's first history row is dated by the export when it can be; a status change
    # by the import time (when it was observed). Receipt/result/return times are on the dossier.
    "CASE WHEN {old} THEN :now_local "
    "WHEN {d}.status = 'resolved' THEN COALESCE({d}.resolved_at, {d}.received_at) "
    "WHEN {d}.status = 'returned' THEN COALESCE({d}.returned_at, {d}.resolved_at, {d}.received_at) "
    "WHEN {d}.status IN ('received', 'processing') THEN {d}.received_at "
    "ELSE :now_local END"
)


# Page cache during an SQLite import, in KiB (negative PRAGMA value): 512 MiB at most.
_SQLITE_IMPORT_CACHE_KIB = -524288
_DEFERRED_TABLES = "('dossiers', 'dossier_status_history')"


class Writer:
    """Writes batches of staging tuples through one connection (one transaction).

    One history row is written per new dossier (its status when first seen) and per status
    change; unchanged rows are not rewritten (``updated_at`` keeps its value).
    """

    def __init__(self, conn: Connection, source: str) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self.params = {
            "source": source[:255],
            "now": now.replace(tzinfo=None),  # created/updated/recorded: naive UTC
            "now_local": now.astimezone(VN_TZ).replace(tzinfo=None),
        }
        self.cols = ", ".join(STAGE_COLUMNS)
        self.sets = ", ".join(f"{c} = COALESCE(excluded.{c}, dossiers.{c})" for c in UPDATABLE)
        self.ts = (bindparam("now", type_=DateTime), bindparam("now_local", type_=DateTime))
        if self.dialect == "postgresql":
            # Writers wait until the import ends (readers do not): a first load below relies on
            # being the only writer (the table stays as found empty; new ids come in order).
            conn.exec_driver_sql("LOCK TABLE dossiers IN SHARE ROW EXCLUSIVE MODE")
            self._init_postgres()
        else:
            self._init_sqlite()
        # A first load (the table was empty) remembers the codes it wrote: a code not seen yet
        # is new and is written by a plain COPY/INSERT without the lookup and upsert; a code seen
        # in an earlier batch takes the general path.
        self._seen: set[str] | None = None
        self._deferred_unique: list[str] = []
        self._deferred_indexes = self._defer_indexes()
        if self._seen is not None:
            self._init_first_load()

    # A first load into an empty table: the secondary indexes are dropped inside the import's
    # transaction and built once at the end (a sort instead of one B-tree insertion per row and
    # index). Transactional DDL on both backends: a failed import rolls the drop back too.
    # On SQLite readers keep seeing the last committed state; on PostgreSQL they wait for the
    # import to end (the table was empty, so they could not find anything in it yet).
    def _defer_indexes(self) -> list[str]:
        conn = self.conn
        if conn.exec_driver_sql("SELECT 1 FROM dossiers LIMIT 1").first() is not None:
            return []
        self._seen = set()
        deferred: list[str] = []
        if self.dialect == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                f"AND tablename IN {_DEFERRED_TABLES} AND substr(indexdef, 1, 13) <> 'CREATE UNIQUE'"
            ).all()
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            # The history's foreign key too: checked row by row it costs as much as the insert;
            # added back at the end it is validated by one join. (The history of an empty
            # dossiers table is empty.)
            fks = conn.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'dossier_status_history'::regclass AND contype = 'f'"
            ).all()
            deferred = []
            for name, definition in fks:
                conn.exec_driver_sql(f'ALTER TABLE dossier_status_history DROP CONSTRAINT "{name}"')
                deferred.append(
                    f'ALTER TABLE dossier_status_history ADD CONSTRAINT "{name}" {definition}'
                )
            # The unique code too: inserted row by row into its B-tree it is the most costly
            # part of the COPY; built at the end it is one sort. The codes a first load writes
            # are distinct (``_seen``); a code repeated in a later batch needs the constraint
            # for its upsert, so it is built then (``_restore_unique``). Not when a foreign key
            # relies on it.
            uniques = conn.exec_driver_sql(
                "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "WHERE c.conrelid = 'dossiers'::regclass AND c.contype = 'u' AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)"
            ).all()
            for name, definition in uniques:
                conn.exec_driver_sql(f'ALTER TABLE dossiers DROP CONSTRAINT "{name}"')
                self._deferred_unique.append(
                    f'ALTER TABLE dossiers ADD CONSTRAINT "{name}" {definition}'
                )
        else:
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                f"AND tbl_name IN {_DEFERRED_TABLES} AND sql IS NOT NULL "
                "AND substr(sql, 1, 13) <> 'CREATE UNIQUE'"
            ).all()
        for name, _sql in rows:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows] + deferred

    def _restore_unique(self) -> None:
        for sql in self._deferred_unique:
            self.conn.exec_driver_sql(sql)
        self._deferred_unique = []

    def finish(self) -> None:
        """Builds the indexes deferred by a first load (inside the import's transaction)."""
        self._restore_unique()
        for sql in self._deferred_indexes:
            self.conn.exec_driver_sql(sql)
        self._deferred_indexes = []

    # PostgreSQL: COPY into a temporary table, then one statement does everything.
    def _init_postgres(self) -> None:
        self.conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS import_stage ("
            "code varchar(64), procedure_code varchar(32), procedure_name text, "
            "applicant_name varchar(255), phone_hash varchar(64), phone_last4 varchar(4), "
            "received_at timestamp, due_at timestamp, resolved_at timestamp, "
            "returned_at timestamp, status varchar(24), channel varchar(16), "
            "agency varchar(255), sector varchar(255), commune varchar(255), note text) "
            "ON COMMIT DROP"
        )
        changed = " OR ".join(
            f"(s.{c} IS NOT NULL AND s.{c} IS DISTINCT FROM d.{c})" for c in UPDATABLE
        )
        distinct = " OR ".join(
            f"(excluded.{c} IS NOT NULL AND excluded.{c} IS DISTINCT FROM dossiers.{c})"
            for c in UPDATABLE
        )
        scols = ", ".join(f"s.{c}" for c in STAGE_COLUMNS)
        # All parts of one statement see the same snapshot: `j` is the state before the upsert.
        # Unchanged rows are filtered out before the INSERT: ON CONFLICT DO UPDATE would lock
        # (and so write) every conflicting row even when its WHERE is false.
        self.sql_pg = text(
            # The lateral subquery (OFFSET 0 keeps it un-flattened) probes the code index once
            # per staged row; a join could be planned as a scan of all dossiers (the table's
            # statistics lag inside one import).
            f"WITH j AS MATERIALIZED (SELECT {scols}, d.id AS old_id, d.status AS old_status, "
            f"(d.id IS NULL OR {changed}) AS changed FROM import_stage s "
            "LEFT JOIN LATERAL (SELECT * FROM dossiers WHERE dossiers.code = s.code OFFSET 0) d "
            "ON true), "
            f"up AS (INSERT INTO dossiers ({self.cols}, created_at, updated_at) "
            f"SELECT {self.cols}, :now, :now FROM j WHERE changed "
            f"ON CONFLICT (code) DO UPDATE SET {self.sets}, updated_at = excluded.updated_at "
            f"WHERE {distinct} "
            "RETURNING id, code, status, received_at, resolved_at, returned_at), "
            "hist AS (INSERT INTO dossier_status_history (dossier_id, status, changed_at, "
            "source, recorded_at) SELECT up.id, up.status, "
            + _HISTORY_TIME.format(old="j.old_id IS NOT NULL", d="up")
            + ", :source, :now FROM up JOIN j ON j.code = up.code "
            "WHERE j.old_id IS NULL OR j.old_status <> up.status RETURNING 1) "
            "SELECT (SELECT count(*) FROM j WHERE old_id IS NOT NULL) AS existing, "
            "(SELECT count(*) FROM up) AS changed"
        ).bindparams(*self.ts)

    def _write_postgres(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        self.conn.exec_driver_sql("TRUNCATE import_stage")
        copy_binary(self.conn, f"COPY import_stage ({self.cols}) FROM STDIN (FORMAT BINARY)", rows)
        existing, changed = self.conn.execute(self.sql_pg, self.params).one()
        return existing, changed

    # SQLite: remember the old statuses of the batch's codes, upsert with executemany, then
    # write the history from a join.
    def _init_sqlite(self) -> None:
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
            + _HISTORY_TIME.format(old="s.old_status IS NOT NULL", d="d")
            + ", :source, :now FROM import_codes s JOIN dossiers d ON d.code = s.code "
            "WHERE s.old_status IS NULL OR s.old_status <> d.status ORDER BY d.id"
        ).bindparams(*self.ts)

    def _write_sqlite(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
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

    # A first load: rows whose code is new go straight into dossiers; their first history rows
    # are then written by one INSERT ... SELECT over the ids the batch added.
    def _init_first_load(self) -> None:
        cols = f"{self.cols}, created_at, updated_at"
        self.now_s = iso_text(self.params["now"])
        self.sql_copy_new = f"COPY dossiers ({cols}) FROM STDIN (FORMAT BINARY)"
        self.sql_insert_new = (
            f"INSERT INTO dossiers ({cols}) "
            f"VALUES ({', '.join('?' * len(STAGE_COLUMNS))}, '{self.now_s}', '{self.now_s}')"
        )
        # The batch's rows are the `n` with ids above those of the earlier batches (nobody else
        # writes). LIMIT makes the planner walk the primary key from `after`: the table's
        # statistics still say "empty" and a scan of the whole table per batch would grow
        # with every batch.
        history = (
            "INSERT INTO dossier_status_history (dossier_id, status, changed_at, source, "
            "recorded_at) SELECT d.id, d.status, "
            + _HISTORY_TIME.format(old="1 = 0", d="d")
            + ", :source, :now FROM dossiers d WHERE d.id > :after ORDER BY d.id LIMIT :n"
        )
        if self.dialect == "postgresql":
            # ... and returns the highest id written: the next batch's `after`.
            history = f"WITH h AS ({history} RETURNING dossier_id) SELECT max(dossier_id) FROM h"
        self.sql_history_new = text(history).bindparams(*self.ts)
        self._after = 0  # the table was empty

    def _insert_new(self, rows: list[tuple[Any, ...]]) -> None:
        conn = self.conn
        params = {**self.params, "after": self._after, "n": len(rows)}
        if self.dialect == "postgresql":
            copy_binary(conn, self.sql_copy_new, rows, self.params["now"])
            self._after = conn.execute(self.sql_history_new, params).scalar_one()
        else:
            conn.exec_driver_sql(self.sql_insert_new, rows)
            conn.execute(self.sql_history_new, params)
            self._after = conn.exec_driver_sql("SELECT max(id) FROM dossiers").scalar_one()

    def close(self) -> None:
        """Restores the connection settings changed for the import (the pool reuses it)."""
        if self.dialect == "sqlite":
            self.conn.exec_driver_sql(f"PRAGMA cache_size={int(self._cache_size)}")

    def write(self, rows: list[tuple[Any, ...]]) -> tuple[int, int, int]:
        """Returns (inserted, updated, unchanged)."""
        seen = self._seen
        if seen is not None:
            new: list[tuple[Any, ...]] = []
            again: list[tuple[Any, ...]] = []
            for row in rows:
                if row[0] in seen:
                    again.append(row)
                else:
                    seen.add(row[0])
                    new.append(row)
            if new:
                self._insert_new(new)
            if not again:
                return len(new), 0, 0
            inserted, updated, unchanged = self._write(again)
            return inserted + len(new), updated, unchanged
        return self._write(rows)

    def _write(self, rows: list[tuple[Any, ...]]) -> tuple[int, int, int]:
        self._restore_unique()  # the upsert and its lookups need it
        if self.dialect == "postgresql":
            existing, changed = self._write_postgres(rows)
        else:
            existing, changed = self._write_sqlite(rows)
        inserted = len(rows) - existing
        return inserted, changed - inserted, len(rows) - changed


def copy_binary(
    conn: Connection, sql: str, rows: list[tuple[Any, ...]], now: datetime | None = None
) -> None:
    """COPY staging tuples in the binary format (PostgreSQL parses no text), optionally followed
    by ``now`` for created_at and updated_at."""
    fromiso = datetime.fromisoformat
    types = _BINARY_TYPES + (("timestamp", "timestamp") if now is not None else ())
    tail = (now, now) if now is not None else ()
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(types)
        write = copy.write_row
        for r in rows:
            # Times travel as their fixed-layout text until here (see RowBuilder._ts).
            write(
                (
                    *r[:6],
                    fromiso(r[6]),
                    r[7] and fromiso(r[7]),
                    r[8] and fromiso(r[8]),
                    r[9] and fromiso(r[9]),
                    *r[10:],
                    *tail,
                )
            )
