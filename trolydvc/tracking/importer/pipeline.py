"""The parse/write pipeline: a reader feeds batches to the database writer, in parallel (a writer
thread, or a forked parsing child for a big file); ``import_file`` is the entry point."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from tqdm import tqdm

from trolydvc.db.base import get_engine
from trolydvc.tracking.importer.csv_reader import read_csv
from trolydvc.tracking.importer.igate import read_json
from trolydvc.tracking.importer.result import Chunk, ImportFormatError, ImportResult, RowError
from trolydvc.tracking.importer.rows import RowBuilder
from trolydvc.tracking.importer.sniff import count_lines, sniff
from trolydvc.tracking.importer.writer import Writer
from trolydvc.tracking.importer.writer_postgres import PostgresWriter
from trolydvc.tracking.importer.writer_sqlite import SqliteWriter

_DONE = object()


def open_writer(conn: Connection, source: str) -> Writer:
    """The writer for the connection's database (PostgreSQL, else SQLite)."""
    cls = PostgresWriter if conn.dialect.name == "postgresql" else SqliteWriter
    return cls(conn, source)


def _write_each(engine: Engine, batches: Iterable[list[tuple[Any, ...]]], source: str) -> list[int]:
    """Writes batches in this thread, in one transaction; returns (inserted, updated, unchanged).

    The batches come from a parsing child process, or from ``_write_all``'s queue."""
    totals = [0, 0, 0]
    with engine.begin() as conn:
        writer = open_writer(conn, source)
        try:
            for batch in batches:
                for i, n in enumerate(writer.write(batch)):
                    totals[i] += n
            writer.finish()
        finally:
            writer.close()
    return totals


def _write_all(engine: Engine, batches: Iterator[list[tuple[Any, ...]]], source: str) -> list[int]:
    """Writes batches in a background thread (parsing overlaps the database work)."""
    totals: list[int] = []
    q: queue.Queue[Any] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def queued() -> Iterator[list[tuple[Any, ...]]]:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def run() -> None:
        try:
            totals.extend(_write_each(engine, queued(), source))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="dossier-import-writer", daemon=True)
    thread.start()

    def put(item: Any) -> bool:
        while thread.is_alive():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        for batch in batches:
            if not put(batch):
                break
        put(_DONE)
    except BaseException as exc:
        put(_Abort(exc))
        thread.join()
        raise
    thread.join()
    if failure:
        raise failure[0]
    return totals


class _Abort(Exception):
    pass


def _batches(
    reader: Iterator[Chunk], batch_size: int, result: ImportResult, unit: str
) -> Iterator[list[tuple[Any, ...]]]:
    """Groups the good records into batches of distinct codes; errors go to ``result``.

    A code seen earlier in the file is listed in ``result.repeated`` with its line and the
    code's first line (``unit`` says what they are); its last record is the one kept: within a batch it replaces the
    earlier one, in a later batch it updates what an earlier batch wrote.
    """
    pending: dict[str, tuple[Any, ...]] = {}
    # Every code of the file and its first line (about 150 bytes a code). The file-wide table
    # costs about 0.7 µs a record (measured on 200,000: +7% of the parsing time; a get and a
    # set instead of one setdefault: +0.2 µs more).
    first_line: dict[str, int] = {}
    seen_at = first_line.setdefault
    records = 0
    errors = result.errors
    repeated = result.repeated
    for items, numbers in reader:
        records += len(items)
        for item, n in zip(items, numbers, strict=True):
            if type(item) is tuple:
                code = item[0]
                if (first := seen_at(code, n)) != n:
                    repeated.append(
                        RowError(
                            n,
                            f"mã hồ sơ lặp lại, đã có ở {unit} {first}: giữ bản ghi sau cùng",
                            code,
                            unit,
                        )
                    )
                pending[code] = item
                if len(pending) >= batch_size:
                    yield list(pending.values())
                    pending = {}
            else:
                errors.append(item)
    if pending:
        yield list(pending.values())
    result.records = records
    result.duplicates = len(repeated)


def _unit(fmt: str) -> str:
    """What a record's number counts: the lines of CSV and JSON Lines, a JSON array's records."""
    return "bản ghi" if fmt == "json" else "dòng"


def _reader(path: Path, fmt: str, builder: RowBuilder, tick: Callable[[int], None]) -> Any:
    return read_csv(path, builder, tick) if fmt == "csv" else read_json(path, fmt, builder, tick)


# A file at least this big is parsed by a forked child process while this one does the
# database work. A parsing thread would share the GIL with it: SQLite runs in this process
# and holds the GIL between rows; the PostgreSQL writer formats the COPY data and waits for
# the GIL after each round trip. (The child costs the pickling of the rows: not worth it for
# small files.)
_CHILD_MIN_BYTES = 8 << 20


def _use_child(path: Path) -> bool:
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and path.stat().st_size >= _CHILD_MIN_BYTES
    )


def _child_main(
    path: Path, fmt: str, builder: RowBuilder, batch_size: int, send: Any, recv: Any
) -> None:  # pragma: no cover (runs in the child process)
    """Parses in a forked child; sends ("batch", rows, errors, repeated, ticks) ... then
    ("end", records, errors, repeated, ticks)."""
    recv.close()  # the parent's end: once the parent closes it, a send fails (BrokenPipeError)
    ticks = [0]

    def tick(n: int) -> None:
        ticks[0] += n

    result = ImportResult(path=str(path), format=fmt.upper())
    sent = again = 0  # errors and repeated codes sent so far
    try:
        reader = _reader(path, fmt, builder, tick)
        for rows in _batches(reader, batch_size, result, _unit(fmt)):
            send.send(("batch", rows, result.errors[sent:], result.repeated[again:], ticks[0]))
            sent, again, ticks[0] = len(result.errors), len(result.repeated), 0
        end = ("end", result.records, result.errors[sent:], result.repeated[again:], ticks[0])
        send.send(end)
    except (BrokenPipeError, EOFError):  # the parent stopped listening (its import failed)
        pass
    except BaseException as exc:
        try:
            try:
                send.send(("error", exc))
            except (pickle.PicklingError, TypeError, AttributeError):
                send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        except OSError:  # the parent stopped listening
            pass
    finally:
        send.close()


def _batches_from_child(
    path: Path,
    fmt: str,
    builder: RowBuilder,
    batch_size: int,
    result: ImportResult,
    tick: Callable[[int], None],
) -> Iterator[list[tuple[Any, ...]]]:
    """The batches of ``_batches``, parsed by a forked child process (see ``_CHILD_MIN_BYTES``).

    The child only reads the file and sends pickled batches through a pipe; the parent keeps
    the database work. An error in the child is raised here; if the parent stops early the
    child is ended.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child_main,
        args=(path, fmt, builder, batch_size, send, recv),
        name="dossier-import-parser",
        daemon=True,
    )
    child.start()
    send.close()
    try:
        while True:
            try:
                msg = recv.recv()
            except EOFError:
                raise RuntimeError("tiến trình đọc tệp dừng bất thường") from None
            if msg[0] == "batch":
                result.errors.extend(msg[2])
                result.repeated.extend(msg[3])
                tick(msg[4])
                yield msg[1]
            elif msg[0] == "end":
                result.records = msg[1]
                result.errors.extend(msg[2])
                result.repeated.extend(msg[3])
                result.duplicates = len(result.repeated)
                tick(msg[4])
                return
            else:
                raise msg[1]
    finally:
        recv.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()


def import_file(
    path: str | Path,
    *,
    url: str | None = None,
    dry_run: bool = False,
    progress: bool = False,
    batch_size: int = 10000,
) -> ImportResult:
    """Import one export file; see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(f"Không tìm thấy tệp {path}.")
    fmt = sniff(path)
    started = time.perf_counter()
    result = ImportResult(path=str(path), format=fmt.upper(), dry_run=dry_run)
    builder = RowBuilder()
    bar = None
    if progress:
        bar = tqdm(total=count_lines(path) if fmt != "json" else None, unit=" dòng", leave=False)
    tick = bar.update if bar is not None else (lambda _n: None)
    # The import allocates millions of short-lived tuples and no reference cycles: the cyclic
    # garbage collector would only walk them again and again (about 5% of the parsing time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if dry_run:
            for _ in _batches(_reader(path, fmt, builder, tick), batch_size, result, _unit(fmt)):
                pass
        else:
            engine = get_engine(url)
            if _use_child(path):
                batches = _batches_from_child(path, fmt, builder, batch_size, result, tick)
                totals = _write_each(engine, batches, source=path.name)
            else:
                batches = _batches(
                    _reader(path, fmt, builder, tick), batch_size, result, _unit(fmt)
                )
                totals = _write_all(engine, batches, source=path.name)
            inserted, updated, unchanged = totals
            result.inserted, result.updated, result.unchanged = inserted, updated, unchanged
    finally:
        if gc_was_enabled:
            gc.enable()
        if bar is not None:
            bar.close()
    result.seconds = time.perf_counter() - started
    return result
