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


def migrate(source: str | Path, target: str | Path, progress: Callable[[int], None] | None = None) -> list[TableCheck]:
    """Copy the store at `source` into the empty store at `target`; the check of every table.

    Both stores are opened for writing, so neither can be in use by a daemon meanwhile;
    `source` is never written.
    """
    from . import open_store

    origin = open_store(source)
    try:
        destination = open_store(target)
        try:
            if len(destination) or destination.states():
                raise StoreError(
                    f"{destination.location} already holds {len(destination)} item(s) and"
                    f" {len(destination.states())} source(s); migrate into a new, empty store"
                )
            destination.load(_batched(origin.dump(), destination, progress))
            destination.commit()
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
