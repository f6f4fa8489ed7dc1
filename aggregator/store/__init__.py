"""Store stage: diff normalised items into TinyDB; poll state per source; retention.

- `tinydb.py`: the `Store` class (open, lock, commit, read back, poll state, the
  notification outbox) and the files it keeps beside the store path
- `diff.py`: one poll's items matched to stored ones, then inserted or updated
- `retention.py`: pruning to tombstones, expiring them, deleting unused bodies
- `bodies.py`: item bodies in pack files
- `documents.py`: item documents as stored, and the in-memory indexes over them
- `storage.py`: TinyDB plumbing (the crash-safe JSON-lines storage)
- `records.py`: `SourceState`, `DiffResult`, repost fingerprints
- `errors.py`: `StoreError` and its kin, `unusable`

The rest of the program imports from here only.
"""

from .errors import OutputError, StoreError, StoreLocked, unusable
from .records import DiffResult, SourceState, repost_fingerprint
from .storage import AtomicJSONLinesStorage, read_tables
from .tinydb import ITEM_COMMIT_SECONDS, STATE_COMMIT_SECONDS, Store

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
    "read_tables",
    "repost_fingerprint",
    "unusable",
]
