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

from trolydvc.tracking.importer.csv_reader import read_csv
from trolydvc.tracking.importer.igate import read_json
from trolydvc.tracking.importer.result import Chunk, ImportFormatError, ImportResult
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
    reader: Iterator[Chunk], batch_size: int, result: ImportResult
) -> Iterator[list[tuple[Any, ...]]]:
    """Groups the good records into batches of distinct codes; errors go to ``result``.

    A code repeated within a batch keeps its last record: the duplicates are the good records
    that did not make it into a batch.
    """
    pending: dict[str, tuple[Any, ...]] = {}
    records = written = 0
    errors = result.errors
    for chunk in reader:
        records += len(chunk)
        for item in chunk:
            if type(item) is tuple:
                pending[item[0]] = item
                if len(pending) >= batch_size:
                    written += len(pending)
                    yield list(pending.values())
                    pending = {}
            else:
                errors.append(item)
    if pending:
        written += len(pending)
        yield list(pending.values())
    result.records = records
    result.duplicates = records - len(errors) - written


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
    """Parses in a forked child; sends ("batch", rows, errors, ticks) ... then ("end", ...)."""
    recv.close()  # the parent's end: once the parent closes it, a send fails (BrokenPipeError)
    ticks = [0]

    def tick(n: int) -> None:
        ticks[0] += n

    result = ImportResult(path=str(path), format=fmt.upper())
    sent = 0
    try:
        for rows in _batches(_reader(path, fmt, builder, tick), batch_size, result):
            send.send(("batch", rows, result.errors[sent:], ticks[0]))
            sent, ticks[0] = len(result.errors), 0
        end = ("end", result.records, result.duplicates, result.errors[sent:], ticks[0])
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
                tick(msg[3])
                yield msg[1]
            elif msg[0] == "end":
                result.records, result.duplicates = msg[1], msg[2]
                result.errors.extend(msg[3])
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
    from tqdm import tqdm

    from trolydvc.db.base import get_engine

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
            for _ in _batches(_reader(path, fmt, builder, tick), batch_size, result):
                pass
        else:
            engine = get_engine(url)
            if _use_child(path):
                batches = _batches_from_child(path, fmt, builder, batch_size, result, tick)
                totals = _write_each(engine, batches, source=path.name)
            else:
                batches = _batches(_reader(path, fmt, builder, tick), batch_size, result)
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
