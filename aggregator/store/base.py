"""The store's interface, and what both backends share: the item document and the diff.

`Store` is what the rest of the program holds: `open_store()` (in `__init__.py`) gives the
TinyDB backend for a path and the PostgreSQL backend for a `postgresql://` URL. Both keep
an item as the same compact document (`_compact` says what is left out), so the diff
below, which decides new, changed, repost and tombstoned, is written once and both
backends pass the same contract tests. A backend provides the primitives marked
"backend" (look-ups by key, alias and fingerprint; staging bodies and documents) and the
public methods marked abstract.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..models import Case, Enclosure, Item, StoredItem, parse_iso, utc_iso
from ..normalise.urls import atom_id as make_atom_id
from .records import DiffResult, SourceState, repost_fingerprint

STATE_COMMIT_SECONDS = 30.0
ITEM_COMMIT_SECONDS = 5.0


TABLES = ("meta", "state", "item", "tombstone", "notify")


def _canonical(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record as both backends dump it: compacted the same way."""
    if table == "item":
        doc = _compact({k: v for k, v in record.items() if k not in ("summary_html", "content_html", "content_hash")})
        return {**doc, "content_hash": record["content_hash"], "summary_html": record.get("summary_html"),
                "content_html": record.get("content_html")}
    if table == "state":
        return {k: v for k, v in record.items() if v is not None}
    return record


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop what is empty or derivable, so a million items stay small on disk and in memory."""
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


def doc_sources(doc: Mapping[str, Any]) -> list[str]:
    return list(doc.get("sources") or [doc["source"]])


def doc_source_categories(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    return dict(doc.get("source_categories") or {doc["source"]: list(doc.get("categories") or ())})


def recategorized(doc: Mapping[str, Any], by_source: dict[str, list[str]]) -> dict[str, Any] | None:
    """`doc` with the categories each source gives it now (`by_source`); None if they are what it has."""
    categories = sorted({c for cats in by_source.values() for c in cats})
    if by_source == doc_source_categories(doc) and categories == list(doc.get("categories") or ()):
        return None
    return _compact({**doc, "source_categories": by_source, "categories": categories})


def sort_key(doc: Mapping[str, Any]) -> str:
    """Feed order: publish time (first sight when undated), ties by key; UTC ISO sorts as text."""
    return f"{doc.get('published') or doc['first_seen']}\x00{doc['key']}"


def doc_fingerprint(doc: Mapping[str, Any]) -> str | None:
    return repost_fingerprint(doc["title"], parse_iso(doc.get("published")))


def content_of(doc: Mapping[str, Any]) -> tuple[str, str | None]:
    """The item's content hash, and where its body is ("<hash> <location>"; None: a legacy body file)."""
    packed = doc.get("content")
    if packed is None:
        return doc["content_hash"], None
    digest, _, location = packed.rpartition(" ")  # a location never holds a space
    return digest, location


class Store(ABC):
    """Items, tombstones, poll state per source, store facts and the notification outbox.

    Writes are staged and land together at `commit()`: items and the poll state (ETag) that
    produced them, and the notification records about them, are on disk both or neither.
    """

    readonly: bool
    location: str  # the path or URL (without a password) named in messages

    # -- lifecycle ---------------------------------------------------------

    @abstractmethod
    def commit(self, *, lazy: bool = False, state_every: float = STATE_COMMIT_SECONDS) -> bool:
        """Write everything staged; True if anything was written. `lazy`: at most every
        ITEM_COMMIT_SECONDS while items changed, every `state_every` s for poll state alone."""

    @abstractmethod
    def close(self) -> None:
        """Commit, then release the lock (read-only stores hold none)."""

    @abstractmethod
    def abandon(self) -> None:
        """Release the lock without writing what is staged (a store only read, e.g. by `store migrate`)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def created(self) -> datetime | None:
        """When this store was first opened for writing (None for a read-only view of a new one)."""
        return parse_iso(self.meta("created"))

    @abstractmethod
    def meta(self, name: str) -> Any: ...

    @abstractmethod
    def set_meta(self, name: str, value: Any) -> None: ...

    # -- items -------------------------------------------------------------

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def counts_by_source(self) -> dict[str, int]:
        """Stored items per owning source."""

    @abstractmethod
    def is_tombstoned(self, key: str) -> bool: ...

    @abstractmethod
    def items(self, *, with_body: bool = False) -> Iterator[StoredItem]: ...

    def cases(self) -> Iterator[StoredItem]:
        """Every item that carries a penalty case, without bodies, in no set order (`cases export`).
        A backend that can skip the other documents without reading them does."""
        return (stored for stored in self.items(with_body=False) if stored.case)

    def get(self, key: str, *, with_body: bool = True) -> StoredItem | None:
        doc = self._doc(key)
        return self._to_stored(doc, with_body) if doc else None

    @abstractmethod
    def newest(self, limits: Mapping[str, int]) -> dict[str, list[StoredItem]]:
        """The newest items of each category ("all": of every item), as many as its limit, bodies loaded."""

    @abstractmethod
    def reclassify(self, categorize: Callable[[StoredItem], dict[str, list[str]]], *, with_body: bool = True) -> int:
        """Give every item the categories `categorize` finds now (per source); how many changed."""

    @abstractmethod
    def first_found(self, source: str, after: str = "") -> list[StoredItem]:
        """Items this source was first to find, first seen after `after` (an ISO time), oldest first."""

    @abstractmethod
    def newest_first_found(self, source: str) -> str:
        """The latest first_seen among the items this source found ("" if none)."""

    # -- retention -----------------------------------------------------------

    @abstractmethod
    def prune(self, source: str, *, max_age: timedelta, max_count: int, now: datetime) -> int:
        """Drop a source's oldest items beyond age and count, keeping their keys as tombstones."""

    @abstractmethod
    def expire_tombstones(self, older_than: datetime) -> int: ...

    @abstractmethod
    def collect_garbage(self) -> int:
        """Delete bodies no item refers to; how many went."""

    # -- poll state ----------------------------------------------------------

    @abstractmethod
    def state(self, source: str) -> SourceState: ...

    @abstractmethod
    def set_state(self, source: str, state: SourceState) -> None: ...

    @abstractmethod
    def states(self) -> dict[str, SourceState]: ...

    # -- notifications (notify.py) -------------------------------------------
    # Committed with the items they are about: after a crash both are on disk or neither,
    # and a restart neither loses nor repeats a message.

    @abstractmethod
    def notify_docs(self) -> list[dict[str, Any]]:
        """Every notification record, each with its `doc_id`."""

    @abstractmethod
    def notify_put(self, doc: dict[str, Any], doc_id: int | None = None) -> int: ...

    @abstractmethod
    def notify_remove(self, doc_ids: Sequence[int]) -> None: ...

    # -- moving between backends (`aggregator store migrate`) -------------------

    @abstractmethod
    def dump(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every record, as (table, record), for `store migrate`:
        - ("meta", {"name", "value"})
        - ("state", {"name": source, **SourceState fields})
        - ("item", the document with "summary_html" and "content_html" in place of "content",
          and "content_hash"), for every item in any order
        - ("tombstone", {"key", "source", "pruned"})
        - ("notify", the record with its "doc_id")
        """

    @abstractmethod
    def load(self, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Add dumped records to this empty store, staged until `commit`: documents keep every
        field (first_seen, sources, list hashes ...) and notification records keep their doc_id."""

    def checksums(self) -> dict[str, tuple[int, str]]:
        """Per table, (records, sha256 over them in a canonical order): equal on both sides of a migration."""
        import orjson

        digests: dict[str, list[bytes]] = {name: [] for name in TABLES}
        for table, record in self.dump():
            digests[table].append(orjson.dumps(_canonical(table, record), option=orjson.OPT_SORT_KEYS))
        out: dict[str, tuple[int, str]] = {}
        for table, lines in digests.items():
            digest = hashlib.sha256()
            for line in sorted(lines):
                digest.update(line + b"\n")
            out[table] = (len(lines), digest.hexdigest())
        return out

    # -- backend primitives the diff is written on -----------------------------

    @abstractmethod
    def _doc(self, key: str) -> dict[str, Any] | None:
        """The stored document with this key (do not mutate it)."""

    @abstractmethod
    def _key_by_alias(self, original_key: str) -> str | None:
        """The stored item that reposts the article with this key (its `original_key`)."""

    @abstractmethod
    def _key_by_fingerprint(self, fingerprint: str) -> str | None:
        """The first stored item with this repost fingerprint."""

    @abstractmethod
    def _stage_content(self, source: str, item: Item) -> str:
        """Stage the item's body; the document's `content` value ("<content hash> <location>")."""

    @abstractmethod
    def _body(self, doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The item's summary and content HTML (None, None if the body is lost)."""

    @abstractmethod
    def _write_docs(self, inserts: list[dict[str, Any]], updates: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Stage new documents and (before, after) pairs of changed ones, indexes included."""

    def _prefetch(self, items: Sequence[Item]) -> None:
        """Before a diff: a backend whose look-ups are round trips may load what `items` will look up."""

    def _end_prefetch(self) -> None:
        """After a diff: forget what `_prefetch` loaded."""

    # -- shared: documents to StoredItem, the diff -------------------------------

    def _to_stored(self, doc: Mapping[str, Any], with_body: bool) -> StoredItem:
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
            sources=tuple(doc_sources(doc)),
            content_hash=content_of(doc)[0],
            enclosures=tuple(Enclosure(*fields) for fields in doc.get("enclosures") or ()),
            source_categories=doc_source_categories(doc),
            case=Case.from_dict(doc["case"]) if doc.get("case") else None,
        )

    def find_existing(self, item: Item, source: str) -> str | None:
        """The key under which this item (or the article it reposts) is already stored."""
        if self._doc(item.key) is not None:
            return item.key
        alias = self._key_by_alias(item.key)
        if alias is not None and self._doc(alias) is not None:
            return alias  # the original of a repost we already have
        if item.original_key:
            # Keys, not raw URLs: http/https, www. and Hanweb column variants all meet here.
            if self._doc(item.original_key) is not None:
                return item.original_key
            alias = self._key_by_alias(item.original_key)
            if alias is not None and self._doc(alias) is not None:
                return alias  # another repost of the same original
        fingerprint = repost_fingerprint(item.title, item.published)
        candidate = self._key_by_fingerprint(fingerprint) if fingerprint else None
        doc = self._doc(candidate) if candidate is not None else None
        # A site repeats titles such as "行政处罚决定书" on one day for different documents:
        # a title match only means a repost when it comes from another source and site.
        if doc is not None and source not in doc_sources(doc) and _host(doc["url"]) != _host(item.url):
            return candidate
        return None

    def list_hash(self, key: str, source: str) -> str | None:
        """The row this source last listed for the item (sources whose content comes from articles)."""
        doc = self._doc(key)
        if doc is None:
            alias = self._key_by_alias(key)
            doc = self._doc(alias) if alias is not None else None
        return (doc.get("list_hash") or {}).get(source) if doc else None

    def apply(self, source: str, items: Sequence[Item], now: datetime) -> DiffResult:
        """Diff one poll's items into the store (staged until `commit`)."""
        self._prefetch(items)
        try:
            return self._apply(source, items, now)
        finally:
            self._end_prefetch()

    def _apply(self, source: str, items: Sequence[Item], now: datetime) -> DiffResult:
        result = DiffResult()
        inserts: list[dict[str, Any]] = []
        updated: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # key -> (before, after)
        seen: set[str] = set()
        for item in items:
            if self.is_tombstoned(item.key):
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
            if existing_key in updated:
                before, doc = updated[existing_key]  # two rows of this poll meet in one item
            else:
                stored = self._doc(existing_key)
                assert stored is not None
                before, doc = stored, dict(stored)
            changes: dict[str, Any] = {}
            is_original_of_repost = existing_key != item.key and doc.get("original_key") == item.key
            # Once the original has taken over (original_key kept, original_url gone), the
            # repost's own source must not write its copy back: that flip-flopped every poll.
            taken_over = bool(doc.get("original_key")) and not doc.get("original_url")
            # Only the source that owns the item edits it: another source listing the same link
            # under another title would otherwise flip it between them on every poll.
            own = existing_key == item.key and not taken_over and doc["source"] == source
            if is_original_of_repost or own:
                if content_of(doc)[0] != item.content_hash:
                    changes.update(self._content_fields(item))
                    changes["content"] = self._stage_content(source, item)
                    changes["content_hash"] = None  # a store from before packs kept it apart
                    changes["updated"] = utc_iso(self._change_time(doc, item, now))
                    result.changed.append(existing_key)
                if is_original_of_repost and (changes or doc["source"] != source or doc["url"] != item.url):
                    # The original arrived after its repost: credit the original. original_key
                    # stays, so the original's later polls keep finding (and updating) this item.
                    changes.update(source=source, url=item.url, original_url=None, original_key=item.key)
            if source not in doc_sources(doc):
                changes["sources"] = sorted({*doc_sources(doc), source})
                result.reposts.append(existing_key)
            if item.list_hash and (doc.get("list_hash") or {}).get(source) != item.list_hash:
                changes["list_hash"] = {**(doc.get("list_hash") or {}), source: item.list_hash}
            # Each source contributes its own classification; the item is in their union.
            by_source = doc_source_categories(doc)
            by_source[source] = sorted(set(item.categories))
            categories = sorted({c for cats in by_source.values() for c in cats})
            if by_source != doc_source_categories(doc) or categories != list(doc.get("categories") or ()):
                changes["source_categories"] = by_source
                changes["categories"] = categories
            if changes:
                updated[existing_key] = (before, _compact({**doc, **changes}))
            else:
                result.unchanged += 1
        for doc in inserts:
            _compact(doc)
        if inserts or updated:
            self._write_docs(inserts, list(updated.values()))
        return result

    @staticmethod
    def _change_time(doc: Mapping[str, Any], item: Item, now: datetime) -> datetime:
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
            # Only the fields a decision states; absent for the many items that are no decision.
            "case": {k: v for k, v in item.case.as_dict().items() if v is not None} if item.case else None,
        }

    def _new_doc(self, source: str, item: Item, now: datetime) -> dict[str, Any]:
        doc = self._content_fields(item)
        doc.update(
            key=item.key,
            source=source,
            sources=[source],
            source_categories={source: sorted(set(item.categories))},
            list_hash={source: item.list_hash} if item.list_hash else None,
            categories=sorted(set(item.categories)),
            first_seen=utc_iso(now),
            # A date without a time says nothing about the moment: the entry is as new as our first sight.
            updated=utc_iso(next((t for t in (item.updated, item.published) if t and not _day_only(t)), now)),
        )
        return doc


def _day_only(moment: datetime | None) -> bool:
    """A date printed without a time: midnight in the zone it was read in (a real 00:00:00 is as honest)."""
    return moment is not None and (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
