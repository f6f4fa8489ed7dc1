"""Store stage: diff normalised items into TinyDB.

Layout, all beside the configured store path:
- `store.json`: one TinyDB file with tables `items`, `sources` (poll state) and
  `tombstones`. It is rewritten whole by `commit()` (temp file, fsync, rename),
  so items and the ETag that produced them land together or not at all.
- `store.json.blobs/packs/`: item bodies (summary and content HTML). The new
  bodies of one source between two commits go into one immutable pack file,
  and each item's `content` is "<content hash> <pack>:<offset>:<length>" (one
  field, not two: an eleventh key doubles most item dicts, +34 MB at 100,000
  items). A pack is fsynced before the commit that refers to it, and deleted
  by housekeeping once no item uses it. Keeping bodies out of the JSON keeps the file small enough
  to rewrite in well under a second at 100,000 items; packing them writes one
  file per source and commit instead of one per item (file creation was ~10%
  of a first poll's event loop). Stores from before packs keep a file per
  content hash (`store.json.blobs/ab/<hash>.json`); those are still read.
- `store.json.lock`: held for the life of the process (one daemon per store).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, BinaryIO

import orjson
from tinydb import TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import Storage
from tinydb.table import Document, Table

from .infra.atomicfile import fsync_directory, replace_file, replace_file_with
from .models import Enclosure, Item, StoredItem, parse_iso, utc_iso
from .normalise.urls import atom_id as make_atom_id

log = logging.getLogger(__name__)


STATE_COMMIT_SECONDS = 30.0
ITEM_COMMIT_SECONDS = 5.0


class StoreError(Exception):
    """The store cannot be opened or written; the message says why."""


class StoreLocked(StoreError):
    pass


class OutputError(StoreError):
    """The feeds directory cannot be written; same exit code as the store, named apart."""


def unusable(setting: str, path: Path, exc: OSError, what: str) -> str:
    """One line: the setting, the path, what failed and how to fix it."""
    where = Path(exc.filename) if exc.filename else path
    reason = exc.strerror or type(exc).__name__
    return (
        f"settings.{setting}: cannot {what} {path} ({where}: {reason}); point `{setting}` (or"
        f" {'AGGREGATOR_STORE / --store' if setting == 'store' else 'AGGREGATOR_OUTPUT_DIR / --output-dir'})"
        " at a directory this user can write"
    )


class AtomicJSONLinesStorage(Storage):
    """TinyDB storage that never leaves a half-written file, one document per line.

    Stock JSONStorage truncates and rewrites in place, so a crash mid-write leaves
    broken JSON and the whole store is lost: this one writes a temp file, fsyncs
    and renames. One `[table, id, document]` array per line means neither reading
    nor writing ever holds the whole file in one buffer: at 100,000 items a single
    JSON document cost ~130 MB of peak memory on top of the data itself.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        tables: dict[str, dict[str, Any]] = {}
        try:
            with self.path.open("rb") as handle:
                if handle.read(1) == b"{":
                    # Stock TinyDB JSON (one document): read it; the next commit writes lines.
                    try:
                        return orjson.loads(b"{" + handle.read()) or None
                    except orjson.JSONDecodeError as exc:
                        raise StoreError(
                            f"{self.path}: not valid JSON ({exc}); the file was not written by this program"
                            " or the disk is damaged. Move it aside to start a new store."
                        ) from None
                handle.seek(0)
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        table, doc_id, doc = orjson.loads(line)
                    except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                        raise StoreError(
                            f"{self.path}:{number}: not a store line ({exc}); the file was not written by this"
                            " program or the disk is damaged. Move it aside to start a new store."
                        ) from None
                    tables.setdefault(table, {})[doc_id] = doc
        except FileNotFoundError:
            return None
        return tables or None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        def lines(handle: BinaryIO) -> None:
            for table, docs in data.items():
                for doc_id, doc in docs.items():
                    handle.write(orjson.dumps([table, str(doc_id), doc], option=orjson.OPT_APPEND_NEWLINE))

        replace_file_with(self.path, lines, mode=0o600)

    def close(self) -> None:
        pass


def read_tables(path: Path) -> dict[str, dict[str, Any]]:
    """The store file's tables, for tools and tests that look at it from outside."""
    return AtomicJSONLinesStorage(path).read() or {}


class _IntKeyView(MutableMapping[int, Any]):
    """The stored str-keyed table seen through the int ids TinyDB's updaters use."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __getitem__(self, doc_id: int) -> Any:
        return self.raw[str(doc_id)]

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        self.raw[str(doc_id)] = doc

    def __delitem__(self, doc_id: int) -> None:
        del self.raw[str(doc_id)]

    def __iter__(self) -> Iterator[int]:
        return (int(doc_id) for doc_id in self.raw)

    def __len__(self) -> int:
        return len(self.raw)


class _InPlaceTable(Table):
    """Table whose writes touch only the documents they change.

    Stock `_update_table` converts the whole table to int keys and back on every
    insert, update or remove: ~55 ms per call at 100,000 items, on the event loop.
    The updaters only index, insert, pop and test membership by id, so a view that
    translates ids does the same work without the two copies.
    """

    def _update_table(self, updater: Callable[[dict[int, Mapping]], None]) -> None:
        tables = self._storage.read() or {}
        raw = tables.setdefault(self.name, {})
        updater(_IntKeyView(raw))  # type: ignore[arg-type]
        self._storage.write(tables)
        self.clear_cache()


class _Database(TinyDB):
    table_class = _InPlaceTable


class _ExplicitFlushCache(CachingMiddleware):
    # Flush only when the store commits: one write per poll, not per item.
    WRITE_CACHE_SIZE = 1 << 62


@dataclass(slots=True)
class SourceState:
    """What the scheduler and `status` know about one source."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: str | None = None  # ISO 8601 UTC
    last_success: str | None = None
    last_new_item: str | None = None
    failing_since: str | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    items_last_poll: int | None = None
    max_items_seen: int = 0  # an empty page after this was > 0 means a layout change
    retry_after_until: str | None = None  # the server asked us to wait until then
    gone: bool = False
    backfill_pending: bool = False  # older pages still hold rows a capped poll left for later
    rendered: str | None = None  # why the list page last needed the browser (`render`)
    rendered_at: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SourceState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(slots=True)
class DiffResult:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    reposts: list[str] = field(default_factory=list)  # keys that gained another source
    skipped_tombstoned: int = 0


_NOT_ALNUM = re.compile(r"[\W_]+")
_CHINA = timezone(timedelta(hours=8))


def repost_fingerprint(title: str, published: datetime | None) -> str | None:
    """Same normalised title on the same publish day: a repost without a link."""
    if published is None:
        return None
    folded = _NOT_ALNUM.sub("", title.casefold())
    if len(folded) < 8:
        return None  # short titles such as "通知" collide too easily
    return f"{folded}|{published.astimezone(_CHINA).date().isoformat()}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop what is empty or derivable, so 100,000 items fit in memory and in a fast rewrite."""
    for name in [k for k, v in doc.items() if v is None or v == [] or v == ()]:
        del doc[name]
    if doc.get("sources") == [doc["source"]]:
        del doc["sources"]
    if doc.get("updated") == doc["first_seen"]:
        del doc["updated"]
    by_source = doc.get("source_categories")
    if by_source is not None and len(by_source) <= 1 and doc["source"] in by_source:
        del doc["source_categories"]
    return doc


class Store:
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

    def _raw_items(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """The cached table itself: no per-document copies as Table.all() makes. Do not mutate."""
        tables = self._db.storage.read() or {}
        for doc_id, doc in (tables.get("items") or {}).items():
            yield int(doc_id), doc

    def _share(self, doc: dict[str, Any]) -> None:
        # Source names, origins and category lists repeat across thousands of items, and
        # the items of one poll share their first-seen time (date-only pages: their date).
        for name in ("source", "origin", "first_seen", "published", "updated"):
            value = doc.get(name)
            if value is not None:
                doc[name] = self._shared.setdefault(value, value)
        categories = doc.get("categories")
        if categories:
            shared = tuple(categories)
            doc["categories"] = self._shared.setdefault(shared, shared)

    @staticmethod
    def _doc_sources(doc: dict[str, Any]) -> list[str]:
        return doc.get("sources") or [doc["source"]]

    @staticmethod
    def _doc_source_categories(doc: dict[str, Any]) -> dict[str, list[str]]:
        return doc.get("source_categories") or {doc["source"]: list(doc.get("categories") or ())}

    def _remember(self, doc_id: int, doc: dict[str, Any]) -> None:
        key = doc["key"]
        self._index[key] = doc_id
        # Feed order: publish time (first sight when undated), ties by key; UTC ISO sorts as text.
        self._sort_keys[doc_id] = f"{doc.get('published') or doc['first_seen']}\x00{key}"
        self._by_source.setdefault(doc["source"], set()).add(doc_id)
        if doc.get("original_key"):
            self._aliases.setdefault(doc["original_key"], key)
        fingerprint = repost_fingerprint(doc["title"], parse_iso(doc.get("published")))
        if fingerprint:
            self._by_fingerprint.setdefault(fingerprint, key)

    def __len__(self) -> int:
        return len(self._index)

    def counts_by_source(self) -> dict[str, int]:
        """Stored items per owning source, from the index (no walk over the items)."""
        return {source: len(members) for source, members in self._by_source.items() if members}

    def is_tombstoned(self, key: str) -> bool:
        return key in self._tombstone_keys

    def find_existing(self, item: Item, source: str) -> str | None:
        """The key under which this item (or the article it reposts) is already stored."""
        if item.key in self._index:
            return item.key
        if self._aliases.get(item.key) in self._index:
            return self._aliases[item.key]  # the original of a repost we already have
        if item.original_key:
            # Keys, not raw URLs: http/https, www. and Hanweb column variants all meet here.
            if item.original_key in self._index:
                return item.original_key
            if self._aliases.get(item.original_key) in self._index:
                return self._aliases[item.original_key]  # another repost of the same original
        fingerprint = repost_fingerprint(item.title, item.published)
        candidate = self._by_fingerprint.get(fingerprint) if fingerprint else None
        if candidate is not None and candidate in self._index:
            doc = self._items.get(doc_id=self._index[candidate])
            # A site repeats titles such as "行政处罚决定书" on one day for different documents:
            # a title match only means a repost when it comes from another source and site.
            if doc and source not in self._doc_sources(doc) and _host(doc["url"]) != _host(item.url):
                return candidate
        return None

    def list_hash(self, key: str, source: str) -> str | None:
        """The row this source last listed for the item (sources whose content comes from articles)."""
        key = self._aliases.get(key, key)
        doc_id = self._index.get(key)
        doc = self._items.get(doc_id=doc_id) if doc_id is not None else None
        return (doc.get("list_hash") or {}).get(source) if doc else None

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

    @staticmethod
    def _content_of(doc: dict[str, Any]) -> tuple[str, str | None]:
        """The item's content hash, and where its body is (None: a file of a store from before packs)."""
        packed = doc.get("content")
        if packed is None:
            return doc["content_hash"], None
        digest, _, location = packed.rpartition(" ")  # the location never holds a space
        return digest, location

    def _body(self, doc: dict[str, Any]) -> tuple[str | None, str | None]:
        content_hash, location = self._content_of(doc)
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

    def apply(self, source: str, items: Sequence[Item], now: datetime) -> DiffResult:
        """Diff one poll's items into the store (staged until `commit`)."""
        result = DiffResult()
        inserts: list[dict[str, Any]] = []
        updates: dict[int, dict[str, Any]] = {}
        seen: set[str] = set()
        before: dict[int, dict[str, Any]] = {}
        for item in items:
            if item.key in self._tombstone_keys:
                result.skipped_tombstoned += 1
                continue
            if item.key in seen:
                continue  # a duplicate row in the same poll: the first one wins, every time
            seen.add(item.key)
            existing_key = self.find_existing(item, source)
            if existing_key is None:
                doc = self._new_doc(source, item, now)
                doc["content"] = self._stage_content(source, item)
                inserts.append(doc)
                result.new.append(item.key)
                continue
            doc_id = self._index[existing_key]
            doc = self._items.get(doc_id=doc_id)
            assert doc is not None
            before[doc_id] = doc  # a copy: indexes of what it was are forgotten after the update
            changes: dict[str, Any] = {}
            is_original_of_repost = existing_key != item.key and doc.get("original_key") == item.key
            # Once the original has taken over (original_key kept, original_url gone), the
            # repost's own source must not write its copy back: that flip-flopped every poll.
            taken_over = bool(doc.get("original_key")) and not doc.get("original_url")
            if is_original_of_repost or (existing_key == item.key and not taken_over):
                if self._content_of(doc)[0] != item.content_hash:
                    changes.update(self._content_fields(item))
                    changes["content"] = self._stage_content(source, item)
                    changes["content_hash"] = None  # a store from before packs kept it apart
                    changes["updated"] = utc_iso(self._change_time(doc, item, now))
                    result.changed.append(existing_key)
                if is_original_of_repost and (changes or doc["source"] != source or doc["url"] != item.url):
                    # The original arrived after its repost: credit the original. original_key
                    # stays, so the original's later polls keep finding (and updating) this item.
                    changes.update(source=source, url=item.url, original_url=None, original_key=item.key)
            if source not in self._doc_sources(doc):
                changes["sources"] = sorted({*self._doc_sources(doc), source})
                result.reposts.append(existing_key)
            if item.list_hash and (doc.get("list_hash") or {}).get(source) != item.list_hash:
                changes["list_hash"] = {**(doc.get("list_hash") or {}), source: item.list_hash}
            # Each source contributes its own classification; the item is in their union.
            by_source = self._doc_source_categories(doc)
            by_source[source] = sorted(set(item.categories))
            categories = sorted({c for cats in by_source.values() for c in cats})
            if by_source != self._doc_source_categories(doc) or categories != list(doc.get("categories") or ()):
                changes["source_categories"] = by_source
                changes["categories"] = categories
            if changes:
                updates.setdefault(doc_id, {}).update(changes)
            else:
                result.unchanged += 1
        if inserts:
            for doc in inserts:
                _compact(doc)
                self._share(doc)
            ids = self._items.insert_multiple(inserts)
            for doc_id, doc in zip(ids, inserts, strict=True):
                self._remember(doc_id, doc)
        if updates:
            # One update call for the whole poll.
            by_key = {before[doc_id]["key"]: change for doc_id, change in updates.items()}

            def apply_change(doc: dict[str, Any]) -> None:
                doc.update(by_key[doc["key"]])
                _compact(doc)
                self._share(doc)

            self._items.update(apply_change, doc_ids=list(updates))
            for doc_id in updates:
                # Forget the old title, alias and source first: stale entries would point at
                # this item under what it no longer is (and at nothing once it is pruned).
                self._forget(doc_id, before[doc_id])
                self._remember(doc_id, self._items.get(doc_id=doc_id))
        if inserts or updates:
            self._items_dirty = True
        return result

    @staticmethod
    def _change_time(doc: dict[str, Any], item: Item, now: datetime) -> datetime:
        """Upstream's own edit time when it gives a newer one, else the time we saw the change."""
        previous = parse_iso(doc.get("updated") or doc["first_seen"])
        if item.updated and (previous is None or item.updated > previous):
            return item.updated
        return now

    @staticmethod
    def _content_fields(item: Item) -> dict[str, Any]:
        return {
            "url": item.url,
            "title": item.title,
            "published": utc_iso(item.published) if item.published else None,
            "author": item.author,
            "origin": item.origin,
            "original_url": item.original_url,
            "original_key": item.original_key,
            "tags": list(item.tags),
            # [url, type, length, title] each; absent for the many items without documents.
            "enclosures": [[e.url, e.type, e.length, e.title] for e in item.enclosures] or None,
        }

    def _new_doc(self, source: str, item: Item, now: datetime) -> dict[str, Any]:
        doc = self._content_fields(item)
        if doc["enclosures"] is None:
            del doc["enclosures"]  # most items have none: no key at all
        doc.update(
            key=item.key,
            source=source,
            sources=[source],
            source_categories={source: sorted(set(item.categories))},
            list_hash={source: item.list_hash} if item.list_hash else None,
            categories=sorted(set(item.categories)),
            first_seen=utc_iso(now),
            updated=utc_iso(item.updated or item.published or now),
        )
        return doc

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

    # -- retention ---------------------------------------------------------

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

    def _forget(self, doc_id: int, doc: dict[str, Any]) -> None:
        """Undo _remember for one removed item (a full rebuild costs ~1 s at 100k items)."""
        key = doc["key"]
        self._index.pop(key, None)
        self._sort_keys.pop(doc_id, None)
        self._by_source.get(doc["source"], set()).discard(doc_id)
        if doc.get("original_key") and self._aliases.get(doc["original_key"]) == key:
            del self._aliases[doc["original_key"]]
        fingerprint = repost_fingerprint(doc["title"], parse_iso(doc.get("published")))
        if fingerprint and self._by_fingerprint.get(fingerprint) == key:
            del self._by_fingerprint[fingerprint]

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
