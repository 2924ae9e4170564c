"""The PostgreSQL writer: each batch is loaded with a binary COPY (the server parses no text)
into a temporary table, and one statement upserts it and writes the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from trolydvc.tracking.importer.columns import STAGE_COLUMNS, UPDATABLE
from trolydvc.tracking.importer.writer import DEFERRED_TABLES, HISTORY_TIME, Writer

# Their PostgreSQL types for a binary COPY (received_at .. returned_at are the timestamps).
_BINARY_TYPES = ("varchar",) * 6 + ("timestamp",) * 4 + ("varchar",) * 6


class PostgresWriter(Writer):
    # COPY into a temporary table, then one statement does everything.
    def _prepare(self) -> None:
        # Writers wait until the import ends (readers do not): a first load relies on being
        # the only writer (the table stays as found empty; new ids come in order).
        self.conn.exec_driver_sql("LOCK TABLE dossiers IN SHARE ROW EXCLUSIVE MODE")
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
            + HISTORY_TIME.format(old="j.old_id IS NOT NULL", d="up")
            + ", :source, :now FROM up JOIN j ON j.code = up.code "
            "WHERE j.old_id IS NULL OR j.old_status <> up.status RETURNING 1) "
            "SELECT (SELECT count(*) FROM j WHERE old_id IS NOT NULL) AS existing, "
            "(SELECT count(*) FROM up) AS changed"
        ).bindparams(*self.ts)

    def _drop_deferred(self) -> list[str]:
        conn = self.conn
        rows = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            f"AND tablename IN {DEFERRED_TABLES} AND substr(indexdef, 1, 13) <> 'CREATE UNIQUE'"
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
        for name, _sql in rows:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [sql for _name, sql in rows] + deferred

    def _upsert(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        self.conn.exec_driver_sql("TRUNCATE import_stage")
        copy_binary(self.conn, f"COPY import_stage ({self.cols}) FROM STDIN (FORMAT BINARY)", rows)
        existing, changed = self.conn.execute(self.sql_pg, self.params).one()
        return existing, changed

    def _init_insert_new(self, cols: str, history: str) -> None:
        self.sql_copy_new = f"COPY dossiers ({cols}) FROM STDIN (FORMAT BINARY)"
        # The history INSERT also returns the highest id written: the next batch's `after`.
        self.sql_history_new = text(
            f"WITH h AS ({history} RETURNING dossier_id) SELECT max(dossier_id) FROM h"
        ).bindparams(*self.ts)

    def _insert_new(self, rows: list[tuple[Any, ...]]) -> None:
        params = {**self.params, "after": self._after, "n": len(rows)}
        copy_binary(self.conn, self.sql_copy_new, rows, self.params["now"])
        self._after = self.conn.execute(self.sql_history_new, params).scalar_one()


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
