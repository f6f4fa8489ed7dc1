"""TinyDB plumbing: the crash-safe JSON-lines storage and the table and cache it is used through."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import Storage
from tinydb.table import Table

from ..infra.atomicfile import replace_file_with
from .errors import StoreError


class AtomicJSONLinesStorage(Storage):
    """TinyDB storage that never leaves a half-written file, one document per line.

    Stock JSONStorage truncates and rewrites in place, so a crash mid-write leaves
    broken JSON and the whole store is lost: this one writes a temp file, fsyncs
    and renames. One `[table, id, document]` array per line means neither reading
    nor writing ever holds the whole file in one buffer: at 100,000 items a single
    JSON document cost ~130 MB of peak memory on top of the data itself.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        tables: dict[str, dict[str, Any]] = {}
        try:
            with self.path.open("rb") as handle:
                if handle.read(1) == b"{":
                    # Stock TinyDB JSON (one document): read it; the next commit writes lines.
                    try:
                        return orjson.loads(b"{" + handle.read()) or None
                    except orjson.JSONDecodeError as exc:
                        raise StoreError(
                            f"{self.path}: not valid JSON ({exc}); the file was not written by this program"
                            " or the disk is damaged. Move it aside to start a new store."
                        ) from None
                handle.seek(0)
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        table, doc_id, doc = orjson.loads(line)
                    except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                        raise StoreError(
                            f"{self.path}:{number}: not a store line ({exc}); the file was not written by this"
                            " program or the disk is damaged. Move it aside to start a new store."
                        ) from None
                    tables.setdefault(table, {})[doc_id] = doc
        except FileNotFoundError:
            return None
        return tables or None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        def lines(handle: BinaryIO) -> None:
            for table, docs in data.items():
                for doc_id, doc in docs.items():
                    handle.write(orjson.dumps([table, str(doc_id), doc], option=orjson.OPT_APPEND_NEWLINE))

        replace_file_with(self.path, lines, mode=0o600)

    def close(self) -> None:
        pass


def read_tables(path: Path) -> dict[str, dict[str, Any]]:
    """The store file's tables, for tools and tests that look at it from outside."""
    return AtomicJSONLinesStorage(path).read() or {}


class _IntKeyView(MutableMapping[int, Any]):
    """The stored str-keyed table seen through the int ids TinyDB's updaters use."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __getitem__(self, doc_id: int) -> Any:
        return self.raw[str(doc_id)]

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        self.raw[str(doc_id)] = doc

    def __delitem__(self, doc_id: int) -> None:
        del self.raw[str(doc_id)]

    def __iter__(self) -> Iterator[int]:
        return (int(doc_id) for doc_id in self.raw)

    def __len__(self) -> int:
        return len(self.raw)


class _InPlaceTable(Table):
    """Table whose writes touch only the documents they change.

    Stock `_update_table` converts the whole table to int keys and back on every
    insert, update or remove: ~55 ms per call at 100,000 items, on the event loop.
    The updaters only index, insert, pop and test membership by id, so a view that
    translates ids does the same work without the two copies.
    """

    def _update_table(self, updater: Callable[[dict[int, Mapping]], None]) -> None:
        tables = self._storage.read() or {}
        raw = tables.setdefault(self.name, {})
        updater(_IntKeyView(raw))  # type: ignore[arg-type]
        self._storage.write(tables)
        self.clear_cache()


class _Database(TinyDB):
    table_class = _InPlaceTable


class _ExplicitFlushCache(CachingMiddleware):
    # Flush only when the store commits: one write per poll, not per item.
    WRITE_CACHE_SIZE = 1 << 62
