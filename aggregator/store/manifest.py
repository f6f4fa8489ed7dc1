"""The TinyDB store's manifest (`store.json`): which file of each part is current.

`{"format": "aggregator-store", "version": 2, "generation": N, "next_shard": N, "meta": {...},
"shards": {source: [shard ids]}, "files": {part: generation}}`, replaced atomically by every
commit. The file at the store's path may instead be the single-file layout of older versions
(JSON lines, or stock TinyDB JSON): that is converted (`legacy.py`), never a manifest rewritten
by hand, which is still read as one.
"""

from __future__ import annotations

import re
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


def clear_unnamed_files(path: Path, directory: Path) -> None:
    """No manifest at `path`: files in `directory` are a first commit (or a conversion) that never
    finished, unless some are of a later generation: then the manifest itself was lost."""
    ours = re.compile(r"^[a-z]+\d*-(\d+)\.(jsonl|idx)$")  # s12-3.jsonl, state-3.jsonl, s12-3.idx
    leftovers = [p for p in directory.glob("*") if ours.match(p.name)] if directory.exists() else []
    if any(int(ours.match(leftover.name).group(1)) > 1 for leftover in leftovers):  # type: ignore[union-attr]
        raise StoreError(
            f"{path} is missing, but {directory.name} holds a store's files; restore {path.name}"
            f" from a backup, or move {directory.name} aside to start anew"
        )
    for leftover in leftovers:
        leftover.unlink()
