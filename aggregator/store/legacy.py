"""The store's older single-file layout (before shards), converted on first open.

Until 2026-12 the whole store was one TinyDB file (`store.json`, JSON lines of
`[table, id, document]`, or stock TinyDB JSON before that) with tables `items`, `sources`,
`tombstones`, `meta` and `notify`. Its documents are the documents shards hold, and its
bodies stay where they are (`store.json.blobs/`), so converting is regrouping: each item into
the shard of the source that owns it, each tombstone into the shard of the source that left it.
"""

from __future__ import annotations

import filecmp
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .storage import AtomicJSONLinesStorage

if TYPE_CHECKING:
    from .tinydb import TinyDBStore


def convert_single_file(store: TinyDBStore, data: bytes) -> None:
    """Stage the single-file store `data` (the bytes of `store.path`) into `store`; nothing is written here."""
    tables = AtomicJSONLinesStorage(store.path).parse(data) or {}
    for doc in (tables.get("meta") or {}).values():
        store.set_meta(doc["name"], doc.get("value"))
    records = []
    for doc in (tables.get("sources") or {}).values():
        records.append(("state", doc))
    for doc in (tables.get("tombstones") or {}).values():
        records.append(("tombstone", doc))
    for doc_id, doc in (tables.get("notify") or {}).items():
        records.append(("notify", {**doc, "doc_id": int(doc_id)}))
    store.load(records)
    # Items keep their `content` (where the body is) as they are: no body is copied.
    store._write_docs([dict(doc) for doc in (tables.get("items") or {}).values()], [])


def backup_single_file(path: Path) -> None:
    """Keep the single file, whole, as `store.json.v1-backup` before the manifest replaces it."""
    backup = path.with_name(path.name + ".v1-backup")
    number = 1
    while backup.exists():
        if filecmp.cmp(backup, path, shallow=False):
            return  # an earlier conversion that failed (a full disk) kept this very file
        number += 1
        backup = path.with_name(f"{path.name}.v1-backup{number}")
    os.link(path, backup)  # a second name for the same file: nothing copied, nothing to fail half-way
