"""The diff: one poll's items matched to stored ones (reposts included), then inserted or updated."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tinydb.table import Table

from ..models import Item, parse_iso, utc_iso
from .bodies import _Bodies
from .documents import _Documents, _compact
from .records import DiffResult, repost_fingerprint


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


class _Diff(_Documents, _Bodies):
    """Store's diff methods; Store.__init__ sets up the state."""

    _items: Table
    _tombstone_keys: set[str]
    _items_dirty: bool  # items changed: commit at the next chance

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
