"""Store stage: diff normalised items into TinyDB. The `Store` class: opening, locking,
committing, reading items back, poll state and the notification outbox. The diff,
retention, bodies and the item index are its base classes in `diff.py`,
`retention.py`, `bodies.py` and `documents.py`: each reads alone, and every method
is still a method of `Store` on the same state.

Layout, all beside the configured store path:
- `store.json`: one TinyDB file with tables `items`, `sources` (poll state) and
  `tombstones`. It is rewritten whole by `commit()` (temp file, fsync, rename),
  so items and the ETag that produced them land together or not at all.
- `store.json.blobs/packs/`: item bodies (summary and content HTML), one pack
  per source and commit; `bodies.py` says how and why. Stores from before packs
  keep a file per content hash (`store.json.blobs/ab/<hash>.json`); those are still read.
- `store.json.lock`: held for the life of the process (one daemon per store).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tinydb.table import Document, Table

from ..models import Enclosure, StoredItem, parse_iso, utc_iso
from ..normalise.urls import atom_id as make_atom_id
from .diff import _Diff
from .documents import _compact
from .errors import StoreError, StoreLocked, unusable
from .records import SourceState
from .retention import _Retention
from .storage import AtomicJSONLinesStorage, _Database, _ExplicitFlushCache


STATE_COMMIT_SECONDS = 30.0
ITEM_COMMIT_SECONDS = 5.0


class Store(_Diff, _Retention):
    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        """`readonly` takes no lock and never writes: `status` reads while the daemon runs,
        which is safe because every write is an atomic rename of a complete file."""
        self.path = Path(path)
        self.readonly = readonly
        self.blob_dir = self.path.with_name(self.path.name + ".blobs")
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_handle = None if readonly else self._acquire_lock()
        except OSError as exc:
            raise StoreError(unusable("store", self.path, exc, "open the store")) from None
        try:
            if not readonly:
                # A writer killed mid-commit leaves temp files; we hold the lock, so none is live.
                strays = [
                    *self.path.parent.glob(f".{self.path.name}.*.tmp"),
                    *self.blob_dir.glob("*/.blob.*"),  # body files of stores from before packs
                    *self.blob_dir.glob("packs/.*.tmp"),
                ]
                for stray in strays:
                    stray.unlink(missing_ok=True)
            self._db = _Database(self.path, storage=_ExplicitFlushCache(AtomicJSONLinesStorage))
            self._items = self._db.table("items", cache_size=0)
            self._sources = self._db.table("sources", cache_size=0)
            self._tombstones = self._db.table("tombstones", cache_size=0)
            self._meta = self._db.table("meta", cache_size=0)  # {"name", "value"} facts about the store
            self._index: dict[str, int] = {}
            self._aliases: dict[str, str] = {}  # key of a repost's 原文链接 -> the stored repost
            self._by_fingerprint: dict[str, str] = {}
            self._by_source: dict[str, set[int]] = {}
            self._packs_dir = self.blob_dir / "packs"
            self._pending_packs: dict[str, bytearray] = {}  # pack id -> bodies not yet on disk
            self._pack_of_source: dict[str, str] = {}  # source -> its pending pack
            self._sort_keys: dict[int, str] = {}
            self._shared: dict[Any, Any] = {}
            for doc_id, doc in self._raw_items():
                self._share(doc)
                self._remember(doc_id, doc)
            self._tombstone_keys = {doc["key"] for doc in self._tombstones.all()}
            self._source_ids = {doc["name"]: doc.doc_id for doc in self._sources.all()}
        except OSError as exc:
            self._release_lock()
            raise StoreError(unusable("store", self.path, exc, "read the store")) from None
        except BaseException:
            self._release_lock()
            raise
        self._dirty = False  # only poll state changed
        self._items_dirty = False  # items changed: commit at the next chance
        self._last_commit = time.monotonic()
        if not readonly and self.meta("created") is None:
            self.set_meta("created", utc_iso(datetime.now(timezone.utc)))  # lands with the first commit

    @property
    def created(self) -> datetime | None:
        """When this store was first opened for writing (None for a read-only view of a new one)."""
        return parse_iso(self.meta("created"))

    # -- lifecycle ---------------------------------------------------------

    def _acquire_lock(self) -> Any:
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise StoreLocked(
                f"{self.path} is in use by {owner}; one daemon owns a store at a time."
                " Stop it, or point this config at another store."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        return handle

    def _release_lock(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def close(self) -> None:
        if self._lock_handle is None:
            return  # read-only, or already closed
        try:
            self.commit()
        finally:
            self._db.close()
            self._release_lock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def commit(self, *, lazy: bool = False, state_every: float = STATE_COMMIT_SECONDS) -> bool:
        """Write everything staged since the last commit; True if anything was written.

        `lazy`: write item changes at most every ITEM_COMMIT_SECONDS and poll
        state alone at most every `state_every` seconds. Nothing here fires by
        itself: the daemon calls this on a timer too, so staged state reaches
        the file within that bound even when no further poll ends. Items and the ETag that
        produced them share the file, so a crash loses both together and costs
        only a refetch; rewriting a 100k-item file after every poll would
        instead dominate a poll cycle (~0.1 s each).
        """
        if not (self._dirty or self._items_dirty):
            return False
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; nothing can be written")
        if lazy:
            wait = ITEM_COMMIT_SECONDS if self._items_dirty else state_every
            if time.monotonic() - self._last_commit < wait:
                return False
        try:
            if self._pending_packs:
                self._write_packs()
            self._db.storage.flush()
        except OSError as exc:  # disk full, directory gone or made read-only: staged data is kept
            raise StoreError(unusable("store", self.path, exc, "write the store")) from None
        self._dirty = self._items_dirty = False
        self._last_commit = time.monotonic()
        return True

    # -- items -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index)

    def counts_by_source(self) -> dict[str, int]:
        """Stored items per owning source, from the index (no walk over the items)."""
        return {source: len(members) for source, members in self._by_source.items() if members}

    def is_tombstoned(self, key: str) -> bool:
        return key in self._tombstone_keys

    def _to_stored(self, doc: dict[str, Any], with_body: bool) -> StoredItem:
        summary_html, content_html = self._body(doc) if with_body else (None, None)
        first_seen = parse_iso(doc["first_seen"])
        assert first_seen is not None
        return StoredItem(
            key=doc["key"],
            atom_id=make_atom_id(doc["key"]),  # derived: a key's id is the same forever
            source=doc["source"],
            url=doc["url"],
            title=doc["title"],
            published=parse_iso(doc.get("published")),
            updated=parse_iso(doc.get("updated")) or first_seen,
            first_seen=first_seen,
            author=doc.get("author"),
            origin=doc.get("origin"),
            original_url=doc.get("original_url"),
            summary_html=summary_html,
            content_html=content_html,
            tags=tuple(doc.get("tags") or ()),
            categories=tuple(doc.get("categories") or ()),
            sources=tuple(self._doc_sources(doc)),
            content_hash=self._content_of(doc)[0],
            enclosures=tuple(Enclosure(*fields) for fields in doc.get("enclosures") or ()),
            source_categories=dict(self._doc_source_categories(doc)),
        )

    def items(self, *, with_body: bool = False) -> Iterator[StoredItem]:
        for _doc_id, doc in list(self._raw_items()):
            yield self._to_stored(doc, with_body)

    def get(self, key: str, *, with_body: bool = True) -> StoredItem | None:
        doc_id = self._index.get(key)
        if doc_id is None:
            return None
        doc = self._items.get(doc_id=doc_id)
        return self._to_stored(doc, with_body) if doc else None

    def newest(self, limits: Mapping[str, int]) -> dict[str, list[StoredItem]]:
        """The newest items of each category ("all": of every item), as many as its limit, bodies loaded.

        Sorted on precomputed keys (in C, no Python call per item), and the scan
        stops once every feed is full, so only published entries are converted.
        """
        raw = (self._db.storage.read() or {}).get("items") or {}
        order = sorted(self._sort_keys, key=self._sort_keys.__getitem__, reverse=True)
        wanted = {slug: limit for slug, limit in limits.items() if slug != "all" and limit > 0}
        picked: dict[str, list[dict[str, Any]]] = {slug: [] for slug in wanted}
        picked["all"] = []
        all_limit = limits.get("all", 0)
        for doc_id in order:
            if not wanted and len(picked["all"]) >= all_limit:
                break
            doc = raw[str(doc_id)]
            if len(picked["all"]) < all_limit:
                picked["all"].append(doc)
            for slug in doc.get("categories") or ():
                if slug in wanted:
                    picked[slug].append(doc)
                    if len(picked[slug]) >= wanted[slug]:
                        del wanted[slug]
        converted: dict[str, StoredItem] = {}
        out: dict[str, list[StoredItem]] = {}
        for slug, chosen in picked.items():
            out[slug] = []
            for doc in chosen:
                if doc["key"] not in converted:
                    converted[doc["key"]] = self._to_stored(doc, with_body=True)
                out[slug].append(converted[doc["key"]])
        return out

    def reclassify(self, categorize: Callable[[StoredItem], dict[str, list[str]]], *, with_body: bool = True) -> int:
        """Give every item the categories `categorize` finds now (per source); how many changed.

        `with_body=False` skips reading bodies (no rule looks at them): ~10x faster at 100k items.
        """
        changes: dict[str, dict[str, Any]] = {}
        ids: list[int] = []
        for doc_id, doc in list(self._raw_items()):
            by_source = categorize(self._to_stored(doc, with_body=with_body))
            categories = sorted({c for cats in by_source.values() for c in cats})
            if by_source != self._doc_source_categories(doc) or categories != list(doc.get("categories") or ()):
                changes[doc["key"]] = {"source_categories": by_source, "categories": categories}
                ids.append(doc_id)
        if changes:

            def apply_change(doc: dict[str, Any]) -> None:
                doc.update(changes[doc["key"]])
                _compact(doc)
                self._share(doc)

            self._items.update(apply_change, doc_ids=ids)
            self._items_dirty = True
        return len(changes)

    def meta(self, name: str) -> Any:
        for doc in self._meta.all():
            if doc.get("name") == name:
                return doc.get("value")
        return None

    def set_meta(self, name: str, value: Any) -> None:
        existing = [doc.doc_id for doc in self._meta.all() if doc.get("name") == name]
        if existing:
            self._meta.update({"value": value}, doc_ids=existing)
        else:
            self._meta.insert({"name": name, "value": value})
        self._dirty = True

    # -- source state ------------------------------------------------------

    def state(self, source: str) -> SourceState:
        doc_id = self._source_ids.get(source)
        if doc_id is None:
            return SourceState()
        doc = self._sources.get(doc_id=doc_id)
        return SourceState.from_doc(doc) if doc else SourceState()

    def set_state(self, source: str, state: SourceState) -> None:
        doc = {"name": source, **asdict(state)}
        doc_id = self._source_ids.get(source)
        if doc_id is None:
            self._source_ids[source] = self._sources.insert(doc)
        else:
            self._sources.update(doc, doc_ids=[doc_id])
        self._dirty = True

    def states(self) -> dict[str, SourceState]:
        return {doc["name"]: SourceState.from_doc(doc) for doc in self._sources.all()}


    # -- notifications (notify.py) -------------------------------------------
    # The outbox, cursors and target status live in this database so that they are
    # committed together with the items they are about: after a crash, either both
    # are on disk or neither is, and a restart neither loses nor repeats a message.

    @property
    def _notify(self) -> Table:
        return self._db.table("notify", cache_size=0)

    def notify_docs(self) -> list[dict[str, Any]]:
        """Every notification record, each with its `doc_id`."""
        return [{**doc, "doc_id": doc.doc_id} for doc in self._notify.all()]

    def notify_put(self, doc: dict[str, Any], doc_id: int | None = None) -> int:
        doc = {k: v for k, v in doc.items() if k != "doc_id"}
        if doc_id is None:
            doc_id = self._notify.insert(doc)
        else:
            self._notify.upsert(Document(doc, doc_id=doc_id))
        self._items_dirty = True  # written at the next (lazy) commit, like item changes
        return doc_id

    def notify_remove(self, doc_ids: Sequence[int]) -> None:
        if doc_ids:
            self._notify.remove(doc_ids=list(doc_ids))
            self._items_dirty = True

    def first_found(self, source: str, after: str = "") -> list[StoredItem]:
        """Items this source was first to find, first seen after `after` (an ISO time), oldest first."""
        docs = [self._items.get(doc_id=doc_id) for doc_id in self._by_source.get(source, ())]
        found = [doc for doc in docs if doc and doc.get("source") == source and doc["first_seen"] > after]
        found.sort(key=lambda doc: (doc["first_seen"], doc["key"]))
        return [self._to_stored(doc, with_body=False) for doc in found]

    def newest_first_found(self, source: str) -> str:
        """The latest first_seen among the items this source found ("" if none)."""
        docs = (self._items.get(doc_id=doc_id) for doc_id in self._by_source.get(source, ()))
        return max((doc["first_seen"] for doc in docs if doc and doc.get("source") == source), default="")
