"""Store stage: diff normalised items into TinyDB (see `tinydb.py` for the files it keeps).

Everything the rest of the program uses is imported from here.
"""

from .errors import OutputError, StoreError, StoreLocked, unusable
from .records import DiffResult, SourceState, repost_fingerprint
from .storage import read_tables
from .tinydb import ITEM_COMMIT_SECONDS, STATE_COMMIT_SECONDS, Store

__all__ = [
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
