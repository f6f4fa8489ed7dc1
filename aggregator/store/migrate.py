"""`aggregator store migrate FROM TO`: copy a whole store between backends (or layouts), then check it.

Everything a store holds goes across as records (`Store.dump` / `Store.load`): items with their
bodies and every field (first seen, sources, list hashes, per-source categories), tombstones,
poll state, the store's facts and the notification outbox with its ids. The copy is committed in
batches (a million items do not fit in memory at once), then both stores are read again and
compared table by table: record counts and a sha256 over each table in a canonical order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import TABLES, Store
from .errors import StoreError

BATCH = 20_000  # records staged between commits while copying


@dataclass(slots=True)
class TableCheck:
    table: str
    source_count: int
    target_count: int
    matches: bool


def _batched(records: Iterator[tuple[str, dict[str, Any]]], target: Store,
             progress: Callable[[int], None] | None) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, record in enumerate(records, 1):
        yield record
        if number % BATCH == 0:
            target.commit()
            if progress:
                progress(number)


def _open_source(source: str | Path) -> Store:
    """The store to copy from, locked (no daemon may write it meanwhile) but never written:
    a store of the older TinyDB layout is converted in memory only."""
    from . import is_database_url, open_store
    from .tinydb import TinyDBStore

    if is_database_url(source):
        open_store(source, readonly=True).close()  # "holds no store yet" for an empty database
        return open_store(source)
    path = Path(source)
    if not path.is_file():
        raise StoreError(f"{path}: no store there; give the path of an existing store as FROM")
    return TinyDBStore(path, convert=False)


def migrate(source: str | Path, target: str | Path, progress: Callable[[int], None] | None = None) -> list[TableCheck]:
    """Copy the store at `source` into the empty store at `target`; the check of every table.

    Both stores are locked meanwhile, so neither can be in use by a daemon; `source` is never written.
    """
    from . import is_database_url, open_store

    if is_database_url(source) or is_database_url(target):
        same = str(source) == str(target)
    else:
        same = Path(source).resolve() == Path(target).resolve()
    if same:
        raise StoreError("FROM and TO are the same store; give a new, empty store as TO")
    origin = _open_source(source)
    try:
        destination = open_store(target)
        try:
            if len(destination) or destination.states():
                raise StoreError(
                    f"{destination.location} already holds {len(destination)} item(s) and"
                    f" {len(destination.states())} source(s); migrate into a new, empty store"
                )
            try:
                destination.load(_batched(origin.dump(), destination, progress))
                destination.commit()
            except StoreError as exc:
                raise StoreError(
                    f"{exc}; the copy stopped part-way: empty {destination.location} (delete its files, or drop"
                    " and create the database) before trying again"
                ) from None
        finally:
            destination.close()
        before = origin.checksums()
    finally:
        origin.abandon()
    reopened = open_store(target, readonly=True)
    try:
        after = reopened.checksums()
    finally:
        reopened.close()
    return [
        TableCheck(table, before[table][0], after[table][0], before[table] == after[table]) for table in TABLES
    ]
