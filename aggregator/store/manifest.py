"""The TinyDB store's manifest (`store.json`): which file of each part is current.

`{"format": "aggregator-store", "version": 2, "generation": N, "next_shard": N, "meta": {...},
"shards": {source: [shard ids]}, "files": {part: generation}}`, replaced atomically by every
commit. The file at the store's path may instead be the single-file layout of older versions
(JSON lines, or stock TinyDB JSON): that is converted (`legacy.py`), never a manifest rewritten
by hand, which is still read as one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .errors import StoreError

FORMAT = "aggregator-store"
VERSION = 2


def parse_manifest(path: Path, directory: Path, data: bytes | None) -> dict[str, Any] | None:
    """The manifest in `data`; None for the single-file layout (JSON lines, or stock TinyDB JSON)."""
    if data is None or not data.lstrip().startswith(b"{"):
        return None
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if b'"format"' not in data[:200] and not directory.exists():
            return None  # a damaged single-file store: legacy.py names it
        raise StoreError(
            f"{path}: not a valid store manifest ({exc}); the disk is damaged or the file was edited."
            f" Restore it from a backup, or move {path.name} and {directory.name} aside to start anew."
        ) from None
    if not isinstance(manifest, dict) or "format" not in manifest:
        if directory.exists():  # a manifest someone rewrote: never "convert" it over the shards
            raise StoreError(f"{path}: not a store manifest, yet {directory.name} is beside it; restore"
                             f" {path.name} from a backup")
        return None  # stock TinyDB JSON of the single-file layout
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("version"), int):
        raise StoreError(f"{path}: not a store of this program; point `store` at another path")
    if manifest["version"] > VERSION:
        raise StoreError(
            f"{path}: written by a newer version of this program (store format {manifest['version']},"
            f" this one reads up to {VERSION}); upgrade it, or point `store` at another path"
        )
    return manifest
