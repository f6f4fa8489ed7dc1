"""Item documents as the TinyDB backend keeps them, and the in-memory indexes over them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..models import parse_iso
from .records import repost_fingerprint
from .storage import _Database


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


class _Documents:
    """Store's reading of raw documents and upkeep of its indexes; Store.__init__ sets up the state."""

    _db: _Database
    _index: dict[str, int]  # key -> doc id
    _aliases: dict[str, str]  # key of a repost's 原文链接 -> the stored repost
    _by_fingerprint: dict[str, str]
    _by_source: dict[str, set[int]]
    _sort_keys: dict[int, str]
    _shared: dict[Any, Any]

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
