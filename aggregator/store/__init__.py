"""Store stage: diff normalised items into the store; poll state per source; retention.

`open_store(location)` is the way in: a path gives the embedded TinyDB backend, a
`postgresql://` URL the PostgreSQL one. Both are a `Store` (`base.py`):
- `base.py`: the interface, the item document and the diff both backends share
- `tinydb.py`: the TinyDB backend (its docstring says how it is laid out, and why)
- `manifest.py`, `shards.py`, `heads.py`, `bodies.py`, `storage.py`: its manifest, its per-source
  files and the hash index over them, the newest entries per category, body packs, the TinyDB storage
- `legacy.py`: the single-file layout of older versions, converted on first open
- `postgres.py`, `postgres_schema.py`, `postgres_connection.py`: the PostgreSQL backend (psycopg 3),
  its schema and forward migrations, its connections, lock and one-line errors
- `migrate.py`: `aggregator store migrate FROM TO`, and the checks after it
- `records.py`: `SourceState`, `DiffResult`, repost fingerprints
- `errors.py`: `StoreError` and its kin, `unusable`

The rest of the program imports from here only.
"""

from __future__ import annotations

from pathlib import Path

from ..config.models import is_database_url
from .base import ITEM_COMMIT_SECONDS, STATE_COMMIT_SECONDS, Store
from .errors import OutputError, StoreError, StoreLocked, unusable, unwritten_at_exit
from .records import DiffResult, SourceState, repost_fingerprint
from .storage import AtomicJSONLinesStorage, read_tables
from .tinydb import TinyDBStore

def open_store(location: str | Path, *, readonly: bool = False) -> Store:
    """The store at `location`: a path (TinyDB) or a `postgresql://` URL (PostgreSQL).

    `readonly` takes no lock and never writes (`status` reads while the daemon runs).
    """
    if is_database_url(location):
        from .postgres import PostgresStore

        return PostgresStore(str(location), readonly=readonly)
    return TinyDBStore(Path(location), readonly=readonly)


__all__ = [
    "AtomicJSONLinesStorage",
    "ITEM_COMMIT_SECONDS",
    "STATE_COMMIT_SECONDS",
    "DiffResult",
    "OutputError",
    "SourceState",
    "Store",
    "StoreError",
    "StoreLocked",
    "TinyDBStore",
    "is_database_url",
    "open_store",
    "read_tables",
    "repost_fingerprint",
    "unusable",
    "unwritten_at_exit",
]
