"""Retention: a source's oldest items pruned to tombstones, old tombstones expired, unused bodies deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

from tinydb.table import Table

from ..models import parse_iso, utc_iso
from .bodies import _Bodies
from .documents import _Documents


class _Retention(_Documents, _Bodies):
    """Store's retention methods; Store.__init__ sets up the state."""

    _items: Table
    _tombstones: Table
    _tombstone_keys: set[str]
    _items_dirty: bool

    def prune(self, source: str, *, max_age: timedelta, max_count: int, now: datetime) -> int:
        """Drop a source's oldest items beyond age and count, keeping their keys as tombstones."""
        members = self._by_source.get(source, set())
        cutoff = now - max_age
        oldest = utc_iso(cutoff)
        if len(members) <= max_count and all(
            self._items.get(doc_id=doc_id)["first_seen"] >= oldest for doc_id in members
        ):
            return 0  # the common case, decided without sorting
        docs = [doc for doc in self._items.get(doc_ids=list(members))]
        docs.sort(key=lambda d: (d.get("published") or d["first_seen"], d["key"]), reverse=True)
        doomed = [
            doc
            for rank, doc in enumerate(docs)
            # Age counts from first sight: columns list years-old items that are new to us.
            if rank >= max_count or (parse_iso(doc["first_seen"]) or now) < cutoff
        ]
        if not doomed:
            return 0
        self._items.remove(doc_ids=[doc.doc_id for doc in doomed])
        # A taken-over original is stored under its repost's key: its own key is buried too,
        # or the original's source would bring it back.
        buried = [(doc, key) for doc in doomed for key in {doc["key"], doc.get("original_key")} if key]
        self._tombstones.insert_multiple({"key": key, "source": source, "pruned": utc_iso(now)} for _doc, key in buried)
        for _doc, key in buried:
            self._tombstone_keys.add(key)
        for doc in doomed:
            self._forget(doc.doc_id, doc)
        self._items_dirty = True
        return len(doomed)

    def expire_tombstones(self, older_than: datetime) -> int:
        """Tombstones outlive any list page; after that they only cost space."""
        limit = utc_iso(older_than)
        stale = [doc.doc_id for doc in self._tombstones.all() if doc["pruned"] < limit]
        if stale:
            self._tombstones.remove(doc_ids=stale)
            self._tombstone_keys = {doc["key"] for doc in self._tombstones.all()}
            self._items_dirty = True
        return len(stale)

    def collect_garbage(self) -> int:
        """Delete body packs (and old-style body files) no item refers to; how many went.

        A pack goes once none of its bodies is used. Its bodies came from one poll of
        one source, so they leave by retention at about the same time.
        """
        live_packs: set[str] = set(self._pending_packs)
        live_files: set[str] = set()
        for _doc_id, doc in self._raw_items():
            content_hash, location = self._content_of(doc)
            if location is None:
                live_files.add(content_hash)
            else:
                live_packs.add(location.partition(":")[0])
        removed = 0
        if not self.blob_dir.exists():
            return 0
        for path in self._packs_dir.glob("*.pack"):
            if path.stem not in live_packs:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.blob_dir.glob("*/*.json"):
            if path.stem not in live_files:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
