"""Item bodies (summary and content HTML), kept beside the store file in packs.

`store.json.blobs/packs/`: the new bodies of one source between two commits go
into one immutable pack file, and each item's `content` is "<content hash>
<pack>:<offset>:<length>" (one field, not two: an eleventh key doubles most item
dicts, +34 MB at 100,000 items). A pack is fsynced before the commit that refers
to it, and deleted by housekeeping once no item uses it. Keeping bodies out of
the JSON keeps the file small enough to rewrite in well under a second at 100,000
items; packing them writes one file per source and commit instead of one per item
(file creation was ~10% of a first poll's event loop). Stores from before packs
keep a file per content hash (`store.json.blobs/ab/<hash>.json`); those are still read.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import orjson

from ..infra.atomicfile import fsync_directory, replace_file
from ..models import Item
from .base import content_of

log = logging.getLogger("aggregator.store")  # the name in log lines, as before the store became a package


class _Bodies:
    """Store's body methods; Store.__init__ sets up the state they share."""

    blob_dir: Path
    _packs_dir: Path
    _pending_packs: dict[str, bytearray]  # pack id -> bodies not yet on disk
    _pack_of_source: dict[str, str]  # source -> its pending pack

    def _blob_path(self, digest: str) -> Path:
        """Where a store from before packs kept the body with this content hash."""
        return self.blob_dir / digest[:2] / f"{digest}.json"

    def _pack_path(self, pack: str) -> str:
        return f"{self._packs_dir}/{pack}.pack"

    def _stage_content(self, source: str, item: Item) -> str:
        """Add the item's body to the source's pending pack; the item's `content` value."""
        return f"{item.content_hash} {self._stage_body(source, item.summary_html, item.content_html)}"

    def _stage_body(self, source: str, summary_html: str | None, content_html: str | None) -> str:
        """Add a body to the source's pending pack; where it will be."""
        pack = self._pack_of_source.get(source)
        if pack is None:
            pack = self._pack_of_source[source] = uuid.uuid4().hex[:16]
            self._pending_packs[pack] = bytearray()
        buffer = self._pending_packs[pack]
        data = orjson.dumps({"summary_html": summary_html, "content_html": content_html})
        location = f"{pack}:{len(buffer)}:{len(data)}"
        buffer += data
        return location

    def _write_packs(self) -> None:
        """Every pending pack, durable before the store file that refers to it is."""
        for pack, data in self._pending_packs.items():
            # A pack is whole or absent; the directory is synced once for all of them.
            replace_file(Path(self._pack_path(pack)), bytes(data), mode=0o600, sync_directory=False)
        fsync_directory(self._packs_dir)
        self._pending_packs.clear()
        self._pack_of_source.clear()

    def _body(self, doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
        content_hash, location = content_of(doc)
        try:
            if location is None:
                data = self._blob_path(content_hash).read_bytes()
            else:
                pack, offset, length = location.rsplit(":", 2)
                start, size = int(offset), int(length)
                pending = self._pending_packs.get(pack)
                if pending is not None:
                    data = bytes(pending[start : start + size])
                else:
                    fd = os.open(self._pack_path(pack), os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        data = os.pread(fd, size, start)
                    finally:
                        os.close(fd)
            body = orjson.loads(data)
        except (FileNotFoundError, ValueError):  # orjson.JSONDecodeError is a ValueError
            log.warning("store: body of %s missing; publishing the entry without it", doc["key"])
            return None, None
        return body.get("summary_html"), body.get("content_html")
