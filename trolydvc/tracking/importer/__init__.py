"""Import dossiers exported by one-stop-shop software: canonical CSV or iGate-style JSON.

Public API:

- ``import_file(path, *, url=None, dry_run=False, progress=False, batch_size=10000)
  -> ImportResult``: validates every record, then upserts the good ones by ``code`` in one
  transaction with set-based SQL: on PostgreSQL each batch is loaded with a binary ``COPY``
  (the server parses no text) into a temporary table and one ``INSERT ... SELECT ... ON
  CONFLICT ... RETURNING`` statement upserts it and writes the history; on SQLite an
  ``executemany`` upsert follows a lookup of the batch's old statuses. On PostgreSQL rows that
  would not change skip the upsert. A first load into an empty table writes each code it has
  not written yet with a plain ``COPY`` (PostgreSQL) or ``INSERT`` (SQLite) straight into
  ``dossiers`` and their first history rows with one ``INSERT ... SELECT`` per batch (a code
  repeated in a later batch takes the upsert path); it drops the secondary indexes (on
  PostgreSQL also the history's foreign key and the unique code, rebuilt as soon as a repeated
  code needs it) inside its transaction and builds them once at the end (on PostgreSQL,
  readers of the still empty table wait for the load to finish); an SQLite import uses a
  512 MiB page cache for its own transaction, then restores the setting. Parsing runs in
  parallel with the database work: a big file (``pipeline._CHILD_MIN_BYTES``) is parsed by a
  forked child process that sends its batches through a pipe (a thread would share the GIL
  with the database work), a small one by this process while a writer thread does the
  database work. Plain CSV lines are split directly, a line with quotes (or a NUL) goes
  through the ``csv`` module; the cyclic garbage collector is paused during the import. A new
  dossier (its first status) or one whose status changed gets a row in the status history;
  receipt, result and return times are columns of the dossier. Re-importing the same file
  changes nothing. Empty cells never erase a stored value. A bad record (a NUL character, a
  text longer than its limit (``rows.LIMITS``), a date before 1990 or more than a year ahead
  included) is skipped whole and listed in ``result.errors`` with its line (CSV, JSON Lines)
  or record number (JSON array) and the reason, which never echoes more than a few dozen
  characters of a value. A code seen earlier in the file is listed in ``result.repeated`` with
  both lines; its last record is kept. A file refused part-way (not UTF-8: the line of the
  first bad byte is named; UTF-16 gets a hint) or a database error rolls the whole import back.
- ``ImportFormatError``: the file is not a canonical CSV or a JSON export (clear message).
- ``CSV_COLUMNS``: the canonical header (plus optional ``commune`` and ``note``).

The modules: ``columns`` (headers, staging tuple), ``result`` (ImportResult, RowError),
``rows`` (RowBuilder: one record's values -> a staging tuple), ``sniff`` (which format),
``textfile`` (UTF-16 recognised, the line of a UTF-8 error found),
``csv_reader`` and ``igate`` (the readers), ``writer`` (the database work common to both
databases), ``writer_postgres`` and ``writer_sqlite`` (each database's SQL), ``pipeline``
(readers -> batches -> writer, the parsing child, ``import_file``).

The applicant's phone number is reduced to a keyed hash (MAC) and its last four digits before
it leaves ``rows``; it never appears in messages or logs.
"""

from __future__ import annotations

from trolydvc.tracking.importer.columns import (
    CSV_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    STAGE_COLUMNS,
    write_csv,
)
from trolydvc.tracking.importer.igate import JSON_FIELDS
from trolydvc.tracking.importer.pipeline import import_file
from trolydvc.tracking.importer.result import ImportFormatError, ImportResult, RowError
from trolydvc.tracking.importer.rows import RowBuilder
from trolydvc.tracking.importer.sniff import count_lines

__all__ = [
    "CSV_COLUMNS",
    "JSON_FIELDS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "STAGE_COLUMNS",
    "ImportFormatError",
    "ImportResult",
    "RowBuilder",
    "RowError",
    "count_lines",
    "import_file",
    "write_csv",
]
