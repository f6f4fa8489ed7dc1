"""The TinyDB backend's parts: one source's shard, the summaries and hash index kept for all.

A shard is one TinyDB file (our crash-safe JSON-lines storage: `[table, id, document]` a line)
with the items a source owns and the tombstones it left; it is read only when something needs
its documents. Beside it a small summary (`.idx`) says what every start-up must know without
reading the documents: how many items, which keys, aliases, repost fingerprints and tombstones
it holds (as 60-bit hashes: 1,000,000 keys cost ~70 MB as hashes, ~300 MB as strings), the
body packs it uses and its items per category.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .base import content_of, doc_fingerprint
from .errors import StoreError
from .storage import AtomicJSONLinesStorage


def damaged_part_fix(path: Path) -> str:
    """What to do about a damaged file of the store's directory (`store.json.d/`)."""
    manifest = path.parent.name.removesuffix(".d")
    return f"Restore {path.parent.name} from a backup, or move {manifest} and {path.parent.name} aside to start anew."


def key_hash(text: str) -> int:
    """60 bits: Python keeps such ints in 32 bytes, and collisions at a million keys are ~1e-6 likely
    (and harmless: every hit is checked against the shard's own strings)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 4


class HashIndex:
    """60-bit hash -> the shard(s) holding that string; lookups are then checked in the shard."""

    def __init__(self) -> None:
        self._map: dict[int, int | tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self._map)

    def load(self, hashes: Iterable[int], shard: int) -> None:
        """Bulk add at start-up: one dict update unless a hash is already there."""
        hashes = list(hashes)
        size = len(self._map)
        fresh = dict.fromkeys(hashes, shard)
        if not self._map.keys().isdisjoint(fresh):
            for value in hashes:
                self.add(value, shard)
            return
        self._map.update(fresh)
        assert len(self._map) == size + len(fresh)

    def add(self, value: int, shard: int) -> None:
        current = self._map.get(value)
        if current is None:
            self._map[value] = shard
        elif isinstance(current, int):
            if current != shard:
                self._map[value] = (current, shard)
        elif shard not in current:
            self._map[value] = (*current, shard)

    def discard(self, value: int, shard: int) -> None:
        current = self._map.get(value)
        if current is None:
            return
        if isinstance(current, int):
            if current == shard:
                del self._map[value]
            return
        rest = tuple(s for s in current if s != shard)
        self._map[value] = rest[0] if len(rest) == 1 else rest

    def shards(self, value: int) -> tuple[int, ...]:
        current = self._map.get(value)
        if current is None:
            return ()
        return (current,) if isinstance(current, int) else current


@dataclass(slots=True)
class Summary:
    """What start-up knows of a shard without reading it (its `.idx` file)."""

    count: int = 0
    oldest_seen: str = ""  # first_seen of its oldest item ("": none)
    newest_seen: str = ""
    oldest_tomb: str = ""  # `pruned` of its oldest tombstone
    tombs: int = 0
    packs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # bodies in files of a store from before packs
    categories: dict[str, int] = field(default_factory=dict)
    keys: list[int] = field(default_factory=list)
    aliases: list[int] = field(default_factory=list)
    fingerprints: list[int] = field(default_factory=list)
    tombstones: list[int] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return orjson.dumps({name: getattr(self, name) for name in self.__slots__})  # type: ignore[attr-defined]

    @classmethod
    def from_bytes(cls, data: bytes, path: Path | None = None) -> Summary:
        try:
            return cls(**orjson.loads(data))
        except (orjson.JSONDecodeError, TypeError) as exc:
            where = path or "a shard summary"
            fix = damaged_part_fix(path) if path else ""
            raise StoreError(f"{where}: not a shard summary ({exc}); the disk is damaged or the file was edited. {fix}") from None

    def light(self) -> Summary:
        """The summary without its hash lists (those live in the index once loaded)."""
        return Summary(self.count, self.oldest_seen, self.newest_seen, self.oldest_tomb, self.tombs,
                       self.packs, self.files, self.categories)


class Shard:
    """The items one source owns (key -> document) and its tombstones, with their local indexes."""

    def __init__(self, sid: int, source: str) -> None:
        self.sid = sid
        self.source = source
        self.items: dict[str, dict[str, Any]] = {}
        self.tombs: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}  # original_key -> the stored repost (first wins)
        self.fingerprints: dict[str, str] = {}  # repost fingerprint -> key (first wins)
        self.hashes: dict[str, int] = {}  # key_hash of its strings: worked out once, for index and summary

    # -- documents ---------------------------------------------------------

    def add(self, doc: dict[str, Any], fingerprint: str | None = None) -> None:
        """`fingerprint`: the document's repost fingerprint when the caller has it already."""
        self.items[doc["key"]] = doc
        if doc.get("original_key"):
            self.aliases.setdefault(doc["original_key"], doc["key"])
        fingerprint = fingerprint or doc_fingerprint(doc)
        if fingerprint:
            self.fingerprints.setdefault(fingerprint, doc["key"])

    def remove(self, doc: dict[str, Any]) -> tuple[str | None, str | None]:
        """Take a document out; the alias and fingerprint no longer held here (to drop from the index)."""
        key = doc["key"]
        self.items.pop(key, None)
        gone_alias = gone_fingerprint = None
        # As before shards: the next item with the same alias or fingerprint is not promoted.
        original = doc.get("original_key")
        if original and self.aliases.get(original) == key:
            del self.aliases[original]
            gone_alias = original
        fingerprint = doc_fingerprint(doc)
        if fingerprint and self.fingerprints.get(fingerprint) == key:
            del self.fingerprints[fingerprint]
            gone_fingerprint = fingerprint
        return gone_alias, gone_fingerprint

    # -- files -------------------------------------------------------------

    def lines(self) -> Iterator[bytes]:
        """The shard as TinyDB JSON lines: tables `items` and `tombstones`, and `index`: its alias and
        fingerprint maps (saved, because working out a fingerprint per item on every read cost more
        than the rest of the read)."""
        for number, doc in enumerate(self.items.values(), 1):
            yield orjson.dumps(["items", str(number), doc], option=orjson.OPT_APPEND_NEWLINE)
        for number, tomb in enumerate(self.tombs.values(), 1):
            yield orjson.dumps(["tombstones", str(number), tomb], option=orjson.OPT_APPEND_NEWLINE)
        index = {"aliases": self.aliases, "fingerprints": self.fingerprints}
        yield orjson.dumps(["index", "1", index], option=orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def read(cls, sid: int, source: str, path: Path, summary: bytes | None = None) -> Shard:
        """The shard in `path`; `summary`, its `.idx` file's bytes, saves hashing its strings again."""
        shard = cls(sid, source)
        tables = AtomicJSONLinesStorage(path, damaged_part_fix(path)).parse(path.read_bytes()) or {}
        shard.items = {doc["key"]: doc for doc in (tables.get("items") or {}).values()}
        shard.tombs = {doc["key"]: doc for doc in (tables.get("tombstones") or {}).values()}
        index = (tables.get("index") or {}).get("1")
        if index is None:  # written without one: work the maps out
            for doc in list(shard.items.values()):
                shard.add(doc)
        else:
            shard.aliases, shard.fingerprints = index["aliases"], index["fingerprints"]
        if summary is not None:
            known = Summary.from_bytes(summary)
            for strings, hashes in ((shard.items, known.keys), (shard.aliases, known.aliases),
                                    (shard.fingerprints, known.fingerprints), (shard.tombs, known.tombstones)):
                if len(strings) == len(hashes):  # same order as they were written
                    shard.hashes.update(zip(strings, hashes))
        return shard

    def hash_of(self, text: str) -> int:
        """key_hash(text), remembered: the index is kept with the same hashes the summary saves."""
        value = self.hashes.get(text)
        if value is None:
            value = self.hashes[text] = key_hash(text)
        return value

    def summary(self) -> Summary:
        packs: set[str] = set()
        files: set[str] = set()
        categories: dict[str, int] = {}
        for doc in self.items.values():
            digest, location = content_of(doc)
            if location is None:
                files.add(digest)
            else:
                packs.add(location.partition(":")[0])
            for slug in doc.get("categories") or ():
                categories[slug] = categories.get(slug, 0) + 1
        seen = [doc["first_seen"] for doc in self.items.values()]
        pruned = [tomb["pruned"] for tomb in self.tombs.values()]
        return Summary(
            count=len(self.items),
            oldest_seen=min(seen, default=""),
            newest_seen=max(seen, default=""),
            oldest_tomb=min(pruned, default=""),
            tombs=len(self.tombs),
            packs=sorted(packs),
            files=sorted(files),
            categories=dict(sorted(categories.items())),
            keys=[self.hash_of(key) for key in self.items],
            aliases=[self.hash_of(alias) for alias in self.aliases],
            fingerprints=[self.hash_of(fingerprint) for fingerprint in self.fingerprints],
            tombstones=[self.hash_of(key) for key in self.tombs],
        )
