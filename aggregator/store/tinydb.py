"""The embedded store: TinyDB files, one per source, so a commit writes only what changed.

Layout, beside the configured path (`store.json`):
- `store.json`: the manifest. Small (about 60 bytes a source): which file of each part is
  current, the store's facts (`meta`), and a generation number. Every commit writes new files
  under new names, then replaces the manifest (temp file, fsync, rename): the rename is the
  commit, so items, the poll state (ETag) that produced them and the notifications about them
  land together or not at all, whatever the files in between.
- `store.json.d/s<id>-<gen>.jsonl`: a shard, the TinyDB file of up to CHUNK_ITEMS items one
  source owns and the tombstones it left; `.idx` beside it is its summary (see `shards.py`).
  New items go to the source's last shard; read on demand; at most CACHED_SHARDS unchanged
  shards stay in memory.
- `store.json.d/state-<gen>.jsonl`, `notify-<gen>.jsonl`: poll state of every source, and the
  notification outbox (TinyDB files); `heads-<gen>.jsonl`: the newest documents of every
  category, which is all publishing reads (see `heads.py`).
- `store.json.blobs/packs/`: item bodies (`bodies.py`); `store.json.lock`: held for the life
  of the writing process (one daemon per store).

Why this layout: the store before it was one TinyDB file rewritten whole at every commit. At
1,000,000 items (1,000 sources) that file was 510 MiB, start-up took 36 s and 1.7 GiB, and a
poll bringing 1,000 new items took 6.6 s to commit. Now start-up reads the manifest, the
summaries (hashes of keys, aliases, fingerprints, tombstones: ~16 bytes an item) and the heads;
a commit writes the shards of the sources that changed, and the small files. At 1,000,000 items
start-up now takes 0.60 s and 184 MiB and that commit 0.11 s (the single file, measured beside it:
11.6 s, 1.7 GiB, 1.43 s); `bench/README.md` has the figures at 20,000, 200,000 and 1,000,000 items. A store in the older single-file layout
is converted on first open for writing; the old file is kept as `store.json.v1-backup`.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from ..infra.atomicfile import fsync_directory, replace_file
from ..models import StoredItem, parse_iso, utc_iso
from .base import ITEM_COMMIT_SECONDS, STATE_COMMIT_SECONDS, Store, content_of, doc_fingerprint, recategorized
from .bodies import _Bodies
from .errors import StoreError, unusable
from .heads import ALL, Heads, slugs_of
from .manifest import FORMAT, VERSION, clear_unnamed_files, parse_manifest
from .records import SourceState
from .shards import HashIndex, Shard, Summary, damaged_part_fix, key_hash
from .storage import AtomicJSONLinesStorage, lock_file

log = logging.getLogger("aggregator.store")
CACHED_SHARDS = 64  # unchanged shards kept loaded (~1.5 MB each at 1,000 items)
DEFAULT_HEAD = 100  # entries served per category until a feed asks for more
CHUNK_ITEMS = 500  # items per shard: a source with more has several (see _open_chunk)


class TinyDBStore(_Bodies, Store):
    def __init__(self, path: Path | str, *, readonly: bool = False, convert: bool = True) -> None:
        """`readonly` takes no lock and never writes: `status` reads while the daemon runs,
        which is safe because the daemon only ever adds files and renames the manifest.
        `convert=False` leaves a store of the older layout as it is on disk (read, converted in
        memory only: `store migrate` copies from it)."""
        self.path = Path(path)
        self._convert = convert
        self.location = str(self.path)
        self.readonly = readonly
        self.dir = self.path.with_name(self.path.name + ".d")
        self.blob_dir = self.path.with_name(self.path.name + ".blobs")
        self._packs_dir = self.blob_dir / "packs"
        self._pending_packs: dict[str, bytearray] = {}
        self._pack_of_source: dict[str, str] = {}
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_handle = None if readonly else self._acquire_lock()
        except OSError as exc:
            raise StoreError(unusable("store", self.path, exc, "open the store")) from None
        try:
            for attempt in range(5):
                try:
                    self._open()
                    break
                except FileNotFoundError:
                    if not readonly or attempt == 4:
                        raise  # a reader lost a race with two commits in a row: read again
        except FileNotFoundError as exc:
            self._release_lock()
            raise self._missing(exc) from None
        except OSError as exc:
            self._release_lock()
            raise StoreError(unusable("store", self.path, exc, "read the store")) from None
        except BaseException:
            self._release_lock()
            raise
        self._last_commit = time.monotonic()
        if not readonly and self.meta("created") is None:
            self.set_meta("created", utc_iso(datetime.now(timezone.utc)))  # lands with the first commit

    # -- opening -----------------------------------------------------------

    def _missing(self, exc: FileNotFoundError) -> StoreError:
        return StoreError(
            f"{self.path}: {exc.filename} is missing, though the store's manifest names it; restore"
            f" {self.dir.name} from a backup, or move {self.path.name} and {self.dir.name} aside to start anew"
        )

    def _reset(self) -> None:
        self._generation = 0
        self._next_sid = 1
        self._files: dict[str, str] = {}  # part ("s12", "state", "notify", "heads") -> its current file
        self._chunks: dict[str, list[int]] = {}  # source -> its shards, the open one (new items) last
        self._source_of: dict[int, str] = {}
        self._summaries: dict[int, Summary] = {}
        self._loaded: OrderedDict[int, Shard] = OrderedDict()
        self._dirty_shards: dict[int, Shard] = {}
        self._keys, self._aliases, self._fingerprints, self._tombs = HashIndex(), HashIndex(), HashIndex(), HashIndex()
        self._totals: dict[str, int] = {}  # items per category slug, "all" included
        self._states: dict[str, dict[str, Any]] = {}
        self._notify: dict[int, dict[str, Any]] = {}
        self._meta: dict[str, Any] = {}
        self._heads = Heads(DEFAULT_HEAD)
        self._dirty: set[str] = set()  # parts staged: "items", "state", "notify", "meta"
        self._superseded: list[Path] = []  # files the last manifest stopped naming

    def _open(self) -> None:
        self._reset()
        try:
            data = self.path.read_bytes()  # once: the path may even be a pipe
        except FileNotFoundError:
            data = None
        manifest = self._parse_manifest(data)
        if manifest is None and not self.readonly:
            clear_unnamed_files(self.path, self.dir)
        if manifest is None:
            if data:
                from .legacy import backup_single_file, convert_single_file

                convert_single_file(self, data)  # stages everything; written below unless read-only
                if not self.readonly and self._convert:
                    backup_single_file(self.path)
                    self.commit()
            return
        if not self.readonly:
            self._remove_strays(manifest)
        self._load_manifest(manifest)

    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            return self._parse_manifest(self.path.read_bytes())
        except FileNotFoundError:
            return None

    def _parse_manifest(self, data: bytes | None) -> dict[str, Any] | None:
        return parse_manifest(self.path, self.dir, data)

    def _load_manifest(self, manifest: dict[str, Any]) -> None:
        self._generation = manifest["generation"]
        self._next_sid = manifest["next_shard"]
        self._meta = dict(manifest.get("meta") or {})
        self._files = dict(manifest["files"])
        for source, sids in manifest["shards"].items():
            self._chunks[source] = list(sids)
            for sid in sids:
                self._source_of[sid] = source
                path = self._part_path(f"s{sid}", ".idx")
                summary = Summary.from_bytes(path.read_bytes(), path)
                self._keys.load(summary.keys, sid)
                self._aliases.load(summary.aliases, sid)
                self._fingerprints.load(summary.fingerprints, sid)
                self._tombs.load(summary.tombstones, sid)
                self._summaries[sid] = summary.light()
                self._totals[ALL] = self._totals.get(ALL, 0) + summary.count
                for slug, count in summary.categories.items():
                    self._totals[slug] = self._totals.get(slug, 0) + count
        if "state" in self._files:
            self._states = {doc["name"]: doc for doc in self._read_table("state")}
        if "notify" in self._files:
            self._notify = {doc.pop("doc_id"): doc for doc in self._read_table("notify")}
        if "heads" in self._files:
            try:
                self._heads = Heads.read(self._part_path("heads", ".jsonl").read_bytes())
            except (ValueError, KeyError, TypeError, IndexError):  # damaged: it is only derived data
                log.warning("store: %s is damaged; rebuilding the newest entries from the shards",
                            self._part_path("heads", ".jsonl"))
                self._heads = Heads(DEFAULT_HEAD)
                self._heads.stale = {ALL, *(slug for slug in self._totals)}

    def _part_path(self, part: str, suffix: str, generation: int | None = None) -> Path:
        generation = int(self._files[part]) if generation is None else generation
        return self.dir / f"{part}-{generation}{suffix}"

    def _read_table(self, part: str) -> list[dict[str, Any]]:
        path = self._part_path(part, ".jsonl")
        tables = AtomicJSONLinesStorage(path, damaged_part_fix(path)).parse(path.read_bytes()) or {}
        return [doc for docs in tables.values() for doc in docs.values()]

    def _remove_strays(self, manifest: dict[str, Any]) -> None:
        """Files a killed commit wrote but no manifest names: we hold the lock, so none is live."""
        named = {f"{part}-{gen}" for part, gen in manifest["files"].items()}
        for path in self.dir.glob("*"):
            if path.name.rsplit(".", 1)[0] not in named:
                path.unlink(missing_ok=True)
        for stray in [*self.path.parent.glob(f".{self.path.name}.*.tmp"), *self.blob_dir.glob("*/.blob.*"),
                      *self.blob_dir.glob("packs/.*.tmp")]:
            stray.unlink(missing_ok=True)

    # -- lifecycle ---------------------------------------------------------

    def _acquire_lock(self) -> Any:
        return lock_file(self.path.with_name(self.path.name + ".lock"), self.path)

    def _release_lock(self) -> None:
        if getattr(self, "_lock_handle", None) is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def abandon(self) -> None:
        self._release_lock()

    def close(self) -> None:
        if self._lock_handle is None:
            return  # read-only, or already closed
        try:
            self.commit()
            self._delete_superseded()
        finally:
            self._release_lock()

    def commit(self, *, lazy: bool = False, state_every: float = STATE_COMMIT_SECONDS) -> bool:
        """Write everything staged since the last commit; True if anything was written.

        `lazy`: item changes at most every ITEM_COMMIT_SECONDS, poll state alone at most every
        `state_every` seconds (the daemon also commits on a timer, so nothing waits longer).
        """
        if not self._dirty:
            return False
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; nothing can be written")
        if lazy:
            wait = ITEM_COMMIT_SECONDS if self._dirty & {"items", "notify"} else state_every
            if time.monotonic() - self._last_commit < wait:
                return False
        generation = self._generation + 1
        written: list[Path] = []
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if self._pending_packs:
                self._write_packs()
            files = dict(self._files)
            for sid, shard in list(self._dirty_shards.items()):
                part = f"s{sid}"
                if not shard.items and not shard.tombs:
                    files.pop(part, None)  # a source with nothing left: no shard at all
                    continue
                summary = shard.summary()
                written.append(self._write(part, ".jsonl", generation, shard.lines()))
                written.append(self._write(part, ".idx", generation, [summary.to_bytes()]))
                self._summaries[sid] = summary.light()
                files[part] = str(generation)
            if "state" in self._dirty:
                lines = (orjson.dumps(["sources", str(n), doc], option=orjson.OPT_APPEND_NEWLINE)
                         for n, doc in enumerate(self._states.values(), 1))
                written.append(self._write("state", ".jsonl", generation, lines))
                files["state"] = str(generation)
            if "notify" in self._dirty:
                lines = (orjson.dumps(["notify", str(n), {**doc, "doc_id": n}], option=orjson.OPT_APPEND_NEWLINE)
                         for n, doc in self._notify.items())
                written.append(self._write("notify", ".jsonl", generation, lines))
                files["notify"] = str(generation)
            if self._heads.changed:
                written.append(self._write("heads", ".jsonl", generation, self._heads.lines()))
                files["heads"] = str(generation)
            fsync_directory(self.dir)
            shards = {source: kept for source, sids in self._chunks.items() if (kept := [s for s in sids if f"s{s}" in files])}
            manifest = {"format": FORMAT, "version": VERSION, "generation": generation, "next_shard": self._next_sid,
                        "meta": self._meta, "shards": shards, "files": files}
            replace_file(self.path, orjson.dumps(manifest), mode=0o600)
        except OSError as exc:  # disk full, directory gone or made read-only: staged data is kept
            for path in written:
                path.unlink(missing_ok=True)
            raise StoreError(unusable("store", self.path, exc, "write the store")) from None
        self._delete_superseded()  # named by the manifest before last: no reader can still want them
        self._superseded = [self._part_path(part, suffix, int(old)) for part, old in self._files.items()
                            if files.get(part) != old for suffix in (".jsonl", ".idx")]
        self._files = files
        self._generation = generation
        self._pending_packs.clear()
        self._pack_of_source.clear()
        self._dirty_shards.clear()
        self._heads.changed = False
        self._dirty.clear()
        self._last_commit = time.monotonic()
        self._evict()
        return True

    def _write(self, part: str, suffix: str, generation: int, chunks: Iterable[bytes]) -> Path:
        """A new file under a name no manifest has named yet: no reader can see it half-written."""
        path = self._part_path(part, suffix, generation)
        handle = open(path, "xb")  # never over a file: a name is used once
        try:
            with handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            path.unlink(missing_ok=True)  # ours, half-written (a full disk): leave nothing behind
            raise
        os.chmod(path, 0o600)
        return path

    def _delete_superseded(self) -> None:
        for path in self._superseded:
            path.unlink(missing_ok=True)
        self._superseded = []

    # -- shards ------------------------------------------------------------

    def _shard(self, sid: int) -> Shard:
        shard = self._dirty_shards.get(sid) or self._loaded.get(sid)
        if shard is not None:
            if sid in self._loaded:
                self._loaded.move_to_end(sid)
            return shard
        source = self._source_of[sid]
        shard = Shard(sid, source)  # new since the last commit, or emptied since we read the manifest
        for attempt in range(5):
            if f"s{sid}" not in self._files:
                break
            try:
                shard = Shard.read(sid, source, self._part_path(f"s{sid}", ".jsonl"),
                                   self._part_path(f"s{sid}", ".idx").read_bytes())
                break
            except FileNotFoundError as exc:
                if not self.readonly or attempt == 4:
                    raise self._missing(exc) from None
                self._refresh_files()  # the daemon committed since we read the manifest
        self._loaded[sid] = shard
        self._evict()
        return shard

    def _refresh_files(self) -> None:
        manifest = self._read_manifest()
        if manifest is not None:
            self._files = dict(manifest["files"])

    def _evict(self) -> None:
        """Unload the least recently used shards; changed ones stay in `_dirty_shards` until committed."""
        while len(self._loaded) > CACHED_SHARDS:
            self._loaded.popitem(last=False)

    def _open_chunk(self, source: str) -> Shard:
        """The shard new items of `source` go to: its last, until that holds CHUNK_ITEMS.

        Chunks keep what a commit rewrites small however many items a source has kept.
        """
        chunks = self._chunks.setdefault(source, [])
        if not chunks or self._summaries[chunks[-1]].count >= CHUNK_ITEMS:
            sid = self._next_sid
            self._next_sid += 1
            chunks.append(sid)
            self._source_of[sid] = source
            self._summaries[sid] = Summary()
        return self._shard(chunks[-1])

    def _chunk_holding(self, doc: dict[str, Any]) -> Shard:
        for sid in self._keys.shards(key_hash(doc["key"])):
            if self._source_of[sid] == doc["source"]:
                shard = self._shard(sid)
                if doc["key"] in shard.items:
                    return shard
        raise KeyError(doc["key"])  # a document the store does not hold: a bug, not bad input

    def _source_shards(self, source: str) -> list[Shard]:
        return [self._shard(sid) for sid in self._chunks.get(source, ())]

    def _touch(self, shard: Shard) -> None:
        self._dirty_shards[shard.sid] = shard
        self._dirty.add("items")

    def _all_documents(self) -> Iterator[tuple[Shard, dict[str, Any]]]:
        """Every document, a shard at a time (through the cache: at most CACHED_SHARDS stay loaded)."""
        for sid in sorted(self._summaries):
            if self._summaries[sid].count == 0 and sid not in self._dirty_shards:
                continue
            shard = self._shard(sid)
            for doc in list(shard.items.values()):
                yield shard, doc

    # -- primitives of the diff ----------------------------------------------

    def _find(self, index: HashIndex, table: str, text: str) -> Any:
        """`text` in map `table` of the first shard `index` points to that holds it (hits are checked:
        the index keeps hashes only)."""
        for sid in index.shards(key_hash(text)):
            found = getattr(self._shard(sid), table).get(text)
            if found is not None:
                return found
        return None

    def _doc(self, key: str) -> dict[str, Any] | None:
        return self._find(self._keys, "items", key)  # type: ignore[no-any-return]

    def _key_by_alias(self, original_key: str) -> str | None:
        return self._find(self._aliases, "aliases", original_key)  # type: ignore[no-any-return]

    def _key_by_fingerprint(self, fingerprint: str) -> str | None:
        return self._find(self._fingerprints, "fingerprints", fingerprint)  # type: ignore[no-any-return]

    def _write_docs(self, inserts: list[dict[str, Any]], updates: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        places = [self._take_out(before) for before, _after in updates]
        for (before, after), shard in zip(updates, places, strict=True):
            # An edited item stays in its chunk; one taken over by another source moves to that source.
            self._put_in(after, shard if after["source"] == before["source"] else None)
        for doc in inserts:
            self._put_in(doc)

    def _put_in(self, doc: dict[str, Any], shard: Shard | None = None) -> None:
        shard = shard or self._open_chunk(doc["source"])
        fingerprint = doc_fingerprint(doc)
        shard.add(doc, fingerprint)
        self._touch(shard)
        self._keys.add(shard.hash_of(doc["key"]), shard.sid)  # kept by the shard for its summary
        if doc.get("original_key"):
            self._aliases.add(shard.hash_of(doc["original_key"]), shard.sid)
        if fingerprint:
            self._fingerprints.add(shard.hash_of(fingerprint), shard.sid)
        self._heads.add(doc, self._totals)
        for slug in slugs_of(doc):
            self._totals[slug] = self._totals.get(slug, 0) + 1
        summary = self._summaries[shard.sid]
        summary.count += 1
        summary.newest_seen = max(summary.newest_seen, doc["first_seen"])
        summary.oldest_seen = min(summary.oldest_seen or doc["first_seen"], doc["first_seen"])

    def _take_out(self, doc: dict[str, Any]) -> Shard:
        """Remove a stored document; the shard it was in."""
        shard = self._chunk_holding(doc)
        gone_alias, gone_fingerprint = shard.remove(doc)
        self._touch(shard)
        self._keys.discard(shard.hash_of(doc["key"]), shard.sid)
        if gone_alias:
            self._aliases.discard(shard.hash_of(gone_alias), shard.sid)
        if gone_fingerprint:
            self._fingerprints.discard(shard.hash_of(gone_fingerprint), shard.sid)
        for slug in slugs_of(doc):
            self._totals[slug] -= 1
        self._heads.remove(doc, self._totals)
        self._summaries[shard.sid].count -= 1
        return shard

    # -- items -------------------------------------------------------------

    def __len__(self) -> int:
        return self._totals.get(ALL, 0)

    def counts_by_source(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for sid, summary in self._summaries.items():
            if summary.count:
                source = self._source_of[sid]
                counts[source] = counts.get(source, 0) + summary.count
        return counts

    def is_tombstoned(self, key: str) -> bool:
        return self._find(self._tombs, "tombs", key) is not None

    def items(self, *, with_body: bool = False) -> Iterator[StoredItem]:
        for _shard, doc in self._all_documents():
            yield self._to_stored(doc, with_body)

    def cases(self) -> Iterator[StoredItem]:
        # Only documents with a case become StoredItems: most items are no decision.
        for _shard, doc in self._all_documents():
            if doc.get("case"):
                yield self._to_stored(doc, with_body=False)

    def newest(self, limits: Mapping[str, int]) -> dict[str, list[StoredItem]]:
        wanted = {slug: limit for slug, limit in limits.items() if limit > 0}
        largest = max(wanted.values(), default=0)
        if largest > self._heads.size:
            self._resize_heads(largest)
        stale = self._heads.needs_rebuild(wanted)
        if stale:
            self._heads.rebuild(stale, (doc for _shard, doc in self._all_documents()))
            self._dirty.add("items")  # the rebuilt heads are saved with the next commit
        converted: dict[str, StoredItem] = {}
        out: dict[str, list[StoredItem]] = {}
        for slug, limit in limits.items():
            out[slug] = []
            for doc in self._heads.newest(slug, limit) if limit > 0 else []:
                if doc["key"] not in converted:
                    converted[doc["key"]] = self._to_stored(doc, with_body=True)
                out[slug].append(converted[doc["key"]])
        return out

    def _resize_heads(self, size: int) -> None:
        slugs = set(self._totals)
        self._heads = Heads(size)
        self._heads.rebuild(slugs, (doc for _shard, doc in self._all_documents()))
        self._dirty.add("items")

    def reclassify(self, categorize: Callable[[StoredItem], dict[str, list[str]]], *, with_body: bool = True) -> int:
        changed = 0
        for _shard, doc in self._all_documents():
            after = recategorized(doc, categorize(self._to_stored(doc, with_body=with_body)))
            if after is not None:
                self._write_docs([], [(doc, after)])
                changed += 1
                if len(self._dirty_shards) >= 4 * CACHED_SHARDS and not self.readonly:
                    self.commit()  # each item is right on its own: a partial pass is a consistent store
        return changed

    def first_found(self, source: str, after: str = "") -> list[StoredItem]:
        docs = [doc for shard in self._source_shards(source) for doc in shard.items.values() if doc["first_seen"] > after]
        docs.sort(key=lambda doc: (doc["first_seen"], doc["key"]))
        return [self._to_stored(doc, with_body=False) for doc in docs]

    def newest_first_found(self, source: str) -> str:
        return max((self._summaries[sid].newest_seen for sid in self._chunks.get(source, ())), default="")

    # -- retention -----------------------------------------------------------

    def prune(self, source: str, *, max_age: timedelta, max_count: int, now: datetime) -> int:
        sids = self._chunks.get(source, [])
        cutoff = now - max_age
        summaries = [self._summaries[sid] for sid in sids]
        oldest = min((s.oldest_seen for s in summaries if s.oldest_seen), default="")
        if sum(s.count for s in summaries) <= max_count and (not oldest or oldest >= utc_iso(cutoff)):
            return 0  # the common case, decided without reading a shard
        placed = [(shard, doc) for shard in self._source_shards(source) for doc in shard.items.values()]
        placed.sort(key=lambda p: (p[1].get("published") or p[1]["first_seen"], p[1]["key"]), reverse=True)
        doomed = [
            (shard, doc)
            for rank, (shard, doc) in enumerate(placed)
            # Age counts from first sight: columns list years-old items that are new to us.
            if rank >= max_count or (parse_iso(doc["first_seen"]) or now) < cutoff
        ]
        pruned = utc_iso(now)
        for shard, doc in doomed:
            self._take_out(doc)
            # A taken-over original is stored under its repost's key: its own key is buried too,
            # or the original's source would bring it back.
            for key in {doc["key"], doc.get("original_key")} - {None}:
                self._bury(shard, {"key": key, "source": source, "pruned": pruned})
        for shard in {shard.sid: shard for shard, _doc in doomed}.values():
            self._summaries[shard.sid].oldest_seen = min((d["first_seen"] for d in shard.items.values()), default="")
        return len(doomed)

    def _bury(self, shard: Shard, tomb: dict[str, Any]) -> None:
        """Keep a key as a tombstone in `shard`, so the item never comes back as new."""
        shard.tombs[tomb["key"]] = tomb
        self._tombs.add(shard.hash_of(tomb["key"]), shard.sid)
        summary = self._summaries[shard.sid]
        summary.oldest_tomb = min(summary.oldest_tomb or tomb["pruned"], tomb["pruned"])
        self._touch(shard)

    def expire_tombstones(self, older_than: datetime) -> int:
        limit = utc_iso(older_than)
        expired = 0
        for sid, summary in list(self._summaries.items()):
            if not summary.oldest_tomb or summary.oldest_tomb >= limit:
                continue
            shard = self._shard(sid)
            stale = [key for key, tomb in shard.tombs.items() if tomb["pruned"] < limit]
            for key in stale:
                del shard.tombs[key]
                self._tombs.discard(shard.hash_of(key), sid)
            summary.oldest_tomb = min((t["pruned"] for t in shard.tombs.values()), default="")
            if stale:
                self._touch(shard)
                expired += len(stale)
        return expired

    def collect_garbage(self) -> int:
        """Delete body packs (and old-style body files) no item refers to; how many went.

        A pack goes once none of its bodies is used. Its bodies came from one poll of one
        source, so they leave by retention at about the same time. The summaries say which
        packs each shard uses, so no shard is read.
        """
        live_packs: set[str] = set(self._pending_packs)
        live_files: set[str] = set()
        for sid, summary in self._summaries.items():
            if sid in self._dirty_shards:
                summary = self._dirty_shards[sid].summary()
            live_packs.update(summary.packs)  # every stored item is in a shard (heads only repeat some)
            live_files.update(summary.files)
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

    # -- facts, poll state, notifications --------------------------------------

    def meta(self, name: str) -> Any:
        return self._meta.get(name)

    def set_meta(self, name: str, value: Any) -> None:
        self._meta[name] = value
        self._dirty.add("meta")

    def state(self, source: str) -> SourceState:
        doc = self._states.get(source)
        return SourceState.from_doc(doc) if doc else SourceState()

    def set_state(self, source: str, state: SourceState) -> None:
        self._states[source] = {"name": source, **asdict(state)}
        self._dirty.add("state")

    def states(self) -> dict[str, SourceState]:
        return {name: SourceState.from_doc(doc) for name, doc in self._states.items()}

    def notify_docs(self) -> list[dict[str, Any]]:
        return [{**doc, "doc_id": doc_id} for doc_id, doc in self._notify.items()]

    def notify_put(self, doc: dict[str, Any], doc_id: int | None = None) -> int:
        doc = {k: v for k, v in doc.items() if k != "doc_id"}
        if doc_id is None:
            doc_id = max(self._notify, default=0) + 1
        self._notify[doc_id] = doc
        self._dirty.add("notify")  # written at the next (lazy) commit, like item changes
        return doc_id

    def notify_remove(self, doc_ids: Sequence[int]) -> None:
        for doc_id in doc_ids:
            if self._notify.pop(doc_id, None) is not None:
                self._dirty.add("notify")

    # -- migration ----------------------------------------------------------

    def dump(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, value in self._meta.items():
            yield "meta", {"name": name, "value": value}
        for doc in self._states.values():
            yield "state", dict(doc)
        for shard, doc in self._all_documents():
            summary_html, content_html = self._body(doc)
            record = {k: v for k, v in doc.items() if k != "content"}
            record.update(content_hash=content_of(doc)[0], summary_html=summary_html, content_html=content_html)
            yield "item", record
        for sid in sorted(self._summaries):
            if self._summaries[sid].tombs or sid in self._dirty_shards:
                for tomb in self._shard(sid).tombs.values():
                    yield "tombstone", dict(tomb)
        for doc in self.notify_docs():
            yield "notify", doc

    def load(self, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for table, record in records:
            if table == "meta":
                self.set_meta(record["name"], record["value"])
            elif table == "state":
                self._states[record["name"]] = dict(record)
                self._dirty.add("state")
            elif table == "item":
                doc = {k: v for k, v in record.items() if k not in ("summary_html", "content_html", "content_hash")}
                location = self._stage_body(doc["source"], record.get("summary_html"), record.get("content_html"))
                doc["content"] = f"{record['content_hash']} {location}"
                self._write_docs([doc], [])
            elif table == "tombstone":
                self._bury(self._open_chunk(record["source"]), dict(record))
            elif table == "notify":
                self.notify_put(record, record["doc_id"])

