"""The TinyDB backend's publish index: the newest documents of every category, kept as items change.

Publishing needs the newest 50-1,000 entries of ~20 categories, not the million items
behind them, so the backend keeps each category's head (twice the largest feed, so
pruning a few of its entries leaves it whole) with the documents in it, saved beside the
shards. A head is the exact newest-N of its category: a new item enters it only when it is
newer than its last entry, or when the head holds the whole category. A head that drops
below its feed size while the category has more items is marked stale and rebuilt from
the shards (one pass over every shard; rare: it takes removing more entries than a feed
holds from the newest of one category).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .base import sort_key

ALL = "all"


def slugs_of(doc: dict[str, Any]) -> list[str]:
    return [ALL, *(doc.get("categories") or ())]


class Heads:
    def __init__(self, size: int) -> None:
        self.size = size  # the largest feed served; a head keeps twice as many
        self.lists: dict[str, list[str]] = {}  # slug -> sort keys, oldest first
        self.docs: dict[str, dict[str, Any]] = {}  # item key -> document, for every entry of a head
        self.stale: set[str] = set()
        self.changed = False

    @property
    def capacity(self) -> int:
        return 2 * self.size

    def remove(self, doc: dict[str, Any], totals: dict[str, int]) -> None:
        """Take `doc` out (before an edit or for good); `totals` must already not count it."""
        key = sort_key(doc)
        for slug in slugs_of(doc):
            entries = self.lists.get(slug)
            if entries is None:
                continue
            index = bisect.bisect_left(entries, key)
            if index < len(entries) and entries[index] == key:
                del entries[index]
                self.changed = True
            self._check(slug, totals)

    def add(self, doc: dict[str, Any], totals: dict[str, int]) -> None:
        """Put `doc` in every head it belongs to; `totals` must not count it yet."""
        key = sort_key(doc)
        for slug in slugs_of(doc):
            if slug in self.stale:
                continue
            entries = self.lists.setdefault(slug, [])
            whole = len(entries) >= totals.get(slug, 0)  # the head holds the whole category
            if whole or (entries and key > entries[0]):
                self._insert(entries, key, doc)
                self.changed = True

    def _insert(self, entries: list[str], key: str, doc: dict[str, Any]) -> None:
        """Put `doc` (sort key `key`) in a head, which then drops its oldest beyond capacity."""
        bisect.insort(entries, key)
        self.docs[doc["key"]] = doc
        if len(entries) > self.capacity:
            del entries[0]

    def _check(self, slug: str, totals: dict[str, int]) -> None:
        if len(self.lists.get(slug, ())) < min(self.size, totals.get(slug, 0)):
            self.stale.add(slug)

    def newest(self, slug: str, limit: int) -> list[dict[str, Any]]:
        entries = self.lists.get(slug, [])
        return [self.docs[key.partition("\x00")[2]] for key in reversed(entries[-limit:])]

    def needs_rebuild(self, limits: dict[str, int]) -> set[str]:
        """Slugs to rebuild before serving `limits`."""
        return {slug for slug in limits if slug in self.stale}

    def rebuild(self, slugs: set[str], documents: Iterable[dict[str, Any]]) -> None:
        """Recompute the heads of `slugs` from every document (a pass over all shards)."""
        found: dict[str, list[str]] = {slug: [] for slug in slugs}
        for doc in documents:
            key = None
            for slug in slugs_of(doc):
                entries = found.get(slug)
                if entries is None:
                    continue
                key = key or sort_key(doc)
                if len(entries) < self.capacity or key > entries[0]:
                    self._insert(entries, key, doc)
        for slug, entries in found.items():
            self.lists[slug] = entries
        self.stale -= slugs
        self.changed = True

    # -- file --------------------------------------------------------------

    def _live(self) -> dict[str, dict[str, Any]]:
        wanted = {key.partition("\x00")[2] for entries in self.lists.values() for key in entries}
        self.docs = {key: doc for key, doc in self.docs.items() if key in wanted}
        return self.docs

    def lines(self) -> Iterator[bytes]:
        yield orjson.dumps(
            {"size": self.size, "lists": self.lists, "stale": sorted(self.stale)}, option=orjson.OPT_APPEND_NEWLINE
        )
        for doc in self._live().values():
            yield orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def read(cls, data: bytes) -> Heads:
        lines = data.splitlines()
        header = orjson.loads(lines[0])
        heads = cls(header["size"])
        heads.lists = header["lists"]
        heads.stale = set(header["stale"])
        for line in lines[1:]:
            doc = orjson.loads(line)
            heads.docs[doc["key"]] = doc
        return heads
