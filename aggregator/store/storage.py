"""TinyDB plumbing: the crash-safe JSON-lines storage every TinyDB file of the store is written in,
the lock file, and reading a store from outside (`read_tables`)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from tinydb.storages import Storage

from ..infra.atomicfile import replace_file_with
from .errors import StoreError, StoreLocked


class AtomicJSONLinesStorage(Storage):
    """TinyDB storage that never leaves a half-written file, one document per line.

    Stock JSONStorage truncates and rewrites in place, so a crash mid-write leaves
    broken JSON and the whole store is lost: this one writes a temp file, fsyncs
    and renames. One `[table, id, document]` array per line means neither reading
    nor writing ever holds the whole file in one buffer: at 100,000 items a single
    JSON document cost ~130 MB of peak memory on top of the data itself.
    """

    def __init__(self, path: str | Path, fix: str = "Move it aside to start a new store.") -> None:
        self.path = Path(path)
        self.fix = fix  # what a damaged file's message tells the user to do

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return self.parse(data)

    def parse(self, data: bytes) -> dict[str, dict[str, Any]] | None:
        """The tables in `data`, the file's bytes (read once: the path may be a pipe)."""
        if data.startswith(b"{"):
            # Stock TinyDB JSON (one document).
            try:
                return orjson.loads(data) or None
            except orjson.JSONDecodeError as exc:
                raise StoreError(
                    f"{self.path}: not valid JSON ({exc}); the file was not written by this program"
                    f" or the disk is damaged. {self.fix}"
                ) from None
        tables: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                table, doc_id, doc = orjson.loads(line)
            except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                raise StoreError(
                    f"{self.path}:{number}: not a store line ({exc}); the file was not written by this"
                    f" program or the disk is damaged. {self.fix}"
                ) from None
            tables.setdefault(table, {})[doc_id] = doc
        return tables or None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        def lines(handle: BinaryIO) -> None:
            for table, docs in data.items():
                for doc_id, doc in docs.items():
                    handle.write(orjson.dumps([table, str(doc_id), doc], option=orjson.OPT_APPEND_NEWLINE))

        replace_file_with(self.path, lines, mode=0o600)

    def close(self) -> None:
        pass


def lock_file(lock_path: Path, store_path: Path) -> Any:
    """Hold `lock_path` for the life of the process (one daemon per store); StoreLocked names the owner."""
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise StoreLocked(
            f"{store_path} is in use by {owner}; one daemon owns a store at a time."
            " Stop it, or point this config at another store."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def read_tables(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The store's records by table (`items`, `sources`, `tombstones`, `meta`, `notify`), for tools
    and tests that look at a store from outside; bodies included. Read-only, safe beside the daemon."""
    from .tinydb import TinyDBStore

    names = {"item": "items", "state": "sources", "tombstone": "tombstones", "meta": "meta", "notify": "notify"}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    store = TinyDBStore(path, readonly=True)
    for table, record in store.dump():
        rows = tables.setdefault(names[table], {})
        rows[str(len(rows) + 1)] = record
    return tables
