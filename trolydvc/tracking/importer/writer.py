"""The database writer's common part: batches of staging tuples -> dossiers and their status
history, in one transaction. ``writer_postgres`` and ``writer_sqlite`` do each database's SQL."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam

from trolydvc.tracking.importer.columns import STAGE_COLUMNS, UPDATABLE
from trolydvc.vietnam_time import VN_TZ

HISTORY_TIME = (
    # A new dossier's first history row is dated by the export when it can be; a status change
    # by the import time (when it was observed). Receipt/result/return times are on the dossier.
    "CASE WHEN {old} THEN :now_local "
    "WHEN {d}.status = 'resolved' THEN COALESCE({d}.resolved_at, {d}.received_at) "
    "WHEN {d}.status = 'returned' THEN COALESCE({d}.returned_at, {d}.resolved_at, {d}.received_at) "
    "WHEN {d}.status IN ('received', 'processing') THEN {d}.received_at "
    "ELSE :now_local END"
)
DEFERRED_TABLES = "('dossiers', 'dossier_status_history')"


class Writer:
    """Writes batches of staging tuples through one connection (one transaction).

    One history row is written per new dossier (its status when first seen) and per status
    change; unchanged rows are not rewritten (``updated_at`` keeps its value). Subclasses
    provide ``_prepare``, ``_drop_deferred``, ``_upsert``, ``_init_insert_new`` and
    ``_insert_new``.
    """

    def __init__(self, conn: Connection, source: str) -> None:
        self.conn = conn
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self.params = {
            "source": source[:255],
            "now": now.replace(tzinfo=None),  # created/updated/recorded: naive UTC
            "now_local": now.astimezone(VN_TZ).replace(tzinfo=None),
        }
        self.cols = ", ".join(STAGE_COLUMNS)
        self.sets = ", ".join(f"{c} = COALESCE(excluded.{c}, dossiers.{c})" for c in UPDATABLE)
        self.ts = (bindparam("now", type_=DateTime), bindparam("now_local", type_=DateTime))
        self._prepare()
        # A first load (the table was empty) remembers the codes it wrote: a code not seen yet
        # is new and is written by a plain COPY/INSERT without the lookup and upsert; a code seen
        # in an earlier batch takes the general path.
        self._seen: set[str] | None = None
        self._deferred_unique: list[str] = []
        self._deferred_indexes = self._defer_indexes()
        if self._seen is not None:
            self._init_first_load()

    def _prepare(self) -> None:
        """Session settings, locks and the statements of the general (upsert) path."""
        raise NotImplementedError

    # A first load into an empty table: the secondary indexes are dropped inside the import's
    # transaction and built once at the end (a sort instead of one B-tree insertion per row and
    # index). Transactional DDL on both backends: a failed import rolls the drop back too.
    # On SQLite readers keep seeing the last committed state; on PostgreSQL they wait for the
    # import to end (the table was empty, so they could not find anything in it yet).
    def _defer_indexes(self) -> list[str]:
        if self.conn.exec_driver_sql("SELECT 1 FROM dossiers LIMIT 1").first() is not None:
            return []
        self._seen = set()
        return self._drop_deferred()

    def _drop_deferred(self) -> list[str]:
        """Drops what a first load builds at the end; returns the statements rebuilding it."""
        raise NotImplementedError

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

    # A first load: rows whose code is new go straight into dossiers; their first history rows
    # are then written by one INSERT ... SELECT over the ids the batch added.
    def _init_first_load(self) -> None:
        # The batch's rows are the `n` with ids above those of the earlier batches (nobody else
        # writes). LIMIT makes the planner walk the primary key from `after`: the table's
        # statistics still say "empty" and a scan of the whole table per batch would grow
        # with every batch.
        history = (
            "INSERT INTO dossier_status_history (dossier_id, status, changed_at, source, "
            "recorded_at) SELECT d.id, d.status, "
            + HISTORY_TIME.format(old="1 = 0", d="d")
            + ", :source, :now FROM dossiers d WHERE d.id > :after ORDER BY d.id LIMIT :n"
        )
        self._init_insert_new(f"{self.cols}, created_at, updated_at", history)
        self._after = 0  # the table was empty

    def _init_insert_new(self, cols: str, history: str) -> None:
        """Prepares ``_insert_new``: ``cols`` of dossiers, the first history rows' INSERT."""
        raise NotImplementedError

    def _insert_new(self, rows: list[tuple[Any, ...]]) -> None:
        """Writes rows whose codes are new, then their first history rows; moves ``_after``."""
        raise NotImplementedError

    def _upsert(self, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        """Upserts the rows and writes their history; returns (existing, changed)."""
        raise NotImplementedError

    def close(self) -> None:
        """Restores the connection settings changed for the import (the pool reuses it)."""

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
        existing, changed = self._upsert(rows)
        inserted = len(rows) - existing
        return inserted, changed - inserted, len(rows) - changed
