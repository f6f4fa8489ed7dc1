"""The PostgreSQL store backend (`store = "postgresql://…"`), on psycopg 3's synchronous API.

Design, and why:
- One row per item in `items`: the same compact document as the TinyDB backend (`doc`,
  jsonb), beside the columns the look-ups need (source, fingerprint, original_key,
  sort_key, first_seen) and the body (summary_html, content_html). Bodies live in the row,
  so they die with it: nothing to collect. A document's `content` is "<hash> db".
- `item_categories` holds (category, sort_key, key): `newest()` is an index scan per feed,
  `ORDER BY sort_key DESC LIMIT n`, so publishing costs the same at 1,000 or 1,000,000 items.
- Writes are staged in memory and `commit()` writes them in one transaction: items, the
  poll state (ETag) that produced them and the notification records about them land
  together or not at all, as in the TinyDB backend. Reads overlay the staged changes on the
  database, so the diff sees its own poll. Every write is an upsert or a delete, so a commit
  whose acknowledgement was lost can be replayed: when the database goes away mid-run,
  `commit()` raises StoreError and keeps everything staged; the next one reconnects and
  writes it, nothing lost and nothing twice.
- One writer per database: a dedicated connection holds a session advisory lock for the
  life of a writing store; its application_name ("pid N on host H") names the owner in the
  refusal. Read-only stores (`status`) take no lock and never migrate.
- The schema is created and migrated by the program (`postgres_schema.py`).
- `reclassify` walks committed items with a server-side cursor and writes its changes in
  batches in its own transaction (categories are derived from the config, and rerun when
  the config changes), so a million items never sit in memory at once.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from .errors import STAGED_KEPT, StoreError

try:
    import psycopg
    from psycopg.types.json import Jsonb
except ImportError:  # an optional extra: say how to get it, in one line
    raise StoreError(
        "a postgresql:// store needs psycopg: pip install 'feed-aggregator[postgresql]' (or 'psycopg[binary]')"
    ) from None

from ..models import Item, StoredItem, parse_iso, utc_iso
from . import postgres_schema as schema
from .base import ITEM_COMMIT_SECONDS, STATE_COMMIT_SECONDS, Store, _compact, content_of, doc_fingerprint, recategorized, sort_key
from .errors import StoreLocked
from .postgres_connection import APP_NAME, connect, reason, redact, take_lock
from .records import SourceState, repost_fingerprint

log = logging.getLogger("aggregator.store")

T = TypeVar("T")
BODY_LOCATION = "db"  # content_of(doc)[1]: the body is in the item's row
BATCH = 2000

Doc = dict[str, Any]
Body = tuple[str | None, str | None]


def _db_sort_key(doc: Mapping[str, Any]) -> str:
    # PostgreSQL text cannot hold NUL: \x01 sorts below every character of a time or key just the same.
    return sort_key(doc).replace("\x00", "\x01")


def _text(value: str | None) -> str | None:
    return value.replace("\x00", "") if value and "\x00" in value else value


class PostgresStore(Store):
    def __init__(self, url: str, *, readonly: bool = False) -> None:
        """`readonly` takes no lock, never migrates and never writes: `status` reads while the daemon runs."""
        self._url = url
        self.location = redact(url)
        self.readonly = readonly
        self._main: psycopg.Connection | None = None
        self._lock_conn: psycopg.Connection | None = None
        self._closed = False
        # Staged writes; reads overlay them on the database. None: deleted.
        self._items_pending: dict[str, Doc | None] = {}
        self._bodies_pending: dict[str, Body] = {}  # key -> its new body
        self._bodies_by_hash: dict[str, Body] = {}  # from _stage_content until _write_docs claims them
        self._alias_pending: dict[str, set[str]] = {}  # original_key -> staged keys
        self._fingerprint_pending: dict[str, set[str]] = {}
        self._tombstones_pending: dict[str, Doc | None] = {}
        self._states_pending: dict[str, Doc] = {}
        self._meta_pending: dict[str, Any] = {}
        self._notify_pending: dict[int, Doc | None] = {}
        self._next_notify_id: int | None = None
        # During apply(): what the database holds for the poll's keys (see _prefetch), else None.
        self._known: dict[str, dict[str, Any]] | None = None
        try:
            self._run("open", lambda conn: (schema.check if readonly else schema.migrate)(conn, self.location))
        except BaseException:
            self._disconnect()
            raise
        self._dirty = False  # only poll state or meta changed
        self._items_dirty = False  # items changed: commit at the next chance
        self._last_commit = time.monotonic()
        if not readonly and self.meta("created") is None:
            self.set_meta("created", utc_iso(datetime.now(timezone.utc)))  # lands with the first commit

    # -- connections, the lock, errors ---------------------------------------

    def _conn(self) -> psycopg.Connection:
        """The main connection, (re)connected when needed; a writer (re)takes its lock first."""
        if self._main is None or self._main.closed:
            if self._closed:
                raise StoreError(f"{self.location}: the store is closed")
            if not self.readonly:
                held, self._lock_conn = self._lock_conn, None  # take_lock closes it if it no longer answers
                self._lock_conn = take_lock(self._url, self.location, held)
            self._main = connect(self._url, self.location, APP_NAME, readonly=self.readonly)
        return self._main

    def _disconnect(self) -> None:
        for conn in (self._main, self._lock_conn):
            if conn is not None:
                try:
                    conn.close()  # closing the lock's session releases the lock
                except psycopg.Error:
                    pass
        self._main = self._lock_conn = None

    def _run(self, what: str, work: Callable[[psycopg.Connection], T]) -> T:
        """`work` on the main connection; a database error becomes one line of StoreError.

        A connection that went stale while idle (the server restarted) is replaced and `work`
        run once more: reads are repeatable, and a commit is one transaction of upserts.
        """
        for attempt in (1, 2):
            was_open = self._main is not None and not self._main.closed
            conn = self._conn()
            try:
                return work(conn)
            except psycopg.Error as exc:
                if conn.broken or conn.closed:
                    self._main = None
                    conn.close()
                    if attempt == 1 and was_open:
                        continue
                raise StoreError(f"cannot {what} {self.location} ({reason(exc)})") from None
        raise AssertionError("unreachable")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run("read", lambda conn: conn.execute(sql, params).fetchall())  # type: ignore[arg-type]

    # -- lifecycle ---------------------------------------------------------

    def commit(self, *, lazy: bool = False, state_every: float = STATE_COMMIT_SECONDS) -> bool:
        """Write everything staged in one transaction; True if anything was written.

        `lazy`: item changes at most every ITEM_COMMIT_SECONDS, poll state alone at most
        every `state_every` seconds (the daemon also calls this on a timer). On failure the
        staged changes stay, and the next commit writes them.
        """
        if not (self._dirty or self._items_dirty):
            return False
        if self.readonly:
            raise StoreError(f"{self.location}: opened read-only; nothing can be written")
        if lazy:
            wait = ITEM_COMMIT_SECONDS if self._items_dirty else state_every
            if time.monotonic() - self._last_commit < wait:
                return False
        try:
            if self._lock_conn is not None:
                # The lock lives in its own session: if that session died (a DBA, a timeout, a
                # network cut), take it again before writing, or refuse if another daemon has it.
                self._lock_conn = take_lock(self._url, self.location, self._lock_conn)
            self._run("write to", self._flush)
        except StoreLocked:
            raise
        except StoreError as exc:
            raise StoreError(f"{exc}; {STAGED_KEPT}: the next commit writes it") from None
        self._items_pending.clear()
        self._bodies_pending.clear()
        self._alias_pending.clear()
        self._fingerprint_pending.clear()
        self._tombstones_pending.clear()
        self._states_pending.clear()
        self._meta_pending.clear()
        self._notify_pending.clear()
        self._dirty = self._items_dirty = False
        self._last_commit = time.monotonic()
        return True

    def _flush(self, conn: psycopg.Connection) -> None:
        """Every staged change, in one transaction; the staging itself is left for commit() to clear."""
        with conn.transaction(), conn.cursor() as cur:
            keys = list(self._items_pending)
            if keys:
                gone = [key for key, doc in self._items_pending.items() if doc is None]
                if gone:
                    cur.execute("DELETE FROM items WHERE key = ANY(%s)", (gone,))
                cur.execute("DELETE FROM item_categories WHERE key = ANY(%s)", (keys,))
                self._write_item_rows(cur, [(key, doc) for key, doc in self._items_pending.items() if doc])
            if self._tombstones_pending:
                cur.execute(
                    "DELETE FROM tombstones WHERE key = ANY(%s)",
                    ([key for key, row in self._tombstones_pending.items() if row is None],),
                )
                cur.executemany(
                    """INSERT INTO tombstones (key, source, pruned) VALUES (%s, %s, %s)
                       ON CONFLICT (key) DO UPDATE SET source = excluded.source, pruned = excluded.pruned""",
                    [(r["key"], r.get("source"), r["pruned"]) for r in self._tombstones_pending.values() if r],
                )
            cur.executemany(
                "INSERT INTO sources (name, state) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                [(name, Jsonb(state)) for name, state in self._states_pending.items()],
            )
            cur.executemany(
                "INSERT INTO meta (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [(name, Jsonb(value)) for name, value in self._meta_pending.items()],
            )
            if self._notify_pending:
                cur.execute(
                    "DELETE FROM notify WHERE doc_id = ANY(%s)",
                    ([doc_id for doc_id, doc in self._notify_pending.items() if doc is None],),
                )
                cur.executemany(
                    "INSERT INTO notify (doc_id, doc) VALUES (%s, %s) ON CONFLICT (doc_id) DO UPDATE SET doc = excluded.doc",
                    [(doc_id, Jsonb(doc)) for doc_id, doc in self._notify_pending.items() if doc is not None],
                )

    def _write_item_rows(self, cur: psycopg.Cursor, docs: Sequence[tuple[str, Doc]]) -> None:
        """Upsert documents (with their new body when one is staged) and their category rows."""
        columns = "source = excluded.source, doc = excluded.doc, sort_key = excluded.sort_key," \
            " fingerprint = excluded.fingerprint, original_key = excluded.original_key, first_seen = excluded.first_seen"
        insert = "INSERT INTO items (key, source, doc, sort_key, fingerprint, original_key, first_seen"

        def row(key: str, doc: Doc) -> tuple[Any, ...]:
            return (key, doc["source"], Jsonb(doc), _db_sort_key(doc), doc_fingerprint(doc), doc.get("original_key"),
                    doc["first_seen"])

        with_body = [key for key, _doc in docs if key in self._bodies_pending]
        if with_body:
            cur.executemany(
                f"{insert}, summary_html, content_html) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                f" ON CONFLICT (key) DO UPDATE SET {columns},"
                " summary_html = excluded.summary_html, content_html = excluded.content_html",
                [
                    (*row(key, doc), *(_text(part) for part in self._bodies_pending[key]))
                    for key, doc in docs
                    if key in self._bodies_pending
                ],
            )
        if len(with_body) < len(docs):
            # The body did not change: the row keeps its own.
            cur.executemany(
                f"{insert}) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET {columns}",
                [row(key, doc) for key, doc in docs if key not in self._bodies_pending],
            )
        with cur.copy("COPY item_categories (category, sort_key, key) FROM STDIN") as copy:
            for key, doc in docs:
                for category in set(doc.get("categories") or ()):
                    copy.write_row((category, _db_sort_key(doc), key))

    def abandon(self) -> None:
        """Release the lock and the connections without writing what is staged."""
        if not self._closed:
            self._closed = True
            self._disconnect()

    def close(self) -> None:
        """Commit, then release the lock (closing its session) and the connections."""
        if self._closed:
            return
        try:
            if not self.readonly:
                self.commit()
        finally:
            self._closed = True
            self._disconnect()

    # -- staging -------------------------------------------------------------

    def _stage_doc(self, key: str, doc: Doc | None) -> None:
        """Stage a document (None: its deletion), keeping the staged look-up indexes right."""
        previous = self._items_pending.get(key)
        if previous is not None:
            for index, value in ((self._alias_pending, previous.get("original_key")),
                                 (self._fingerprint_pending, doc_fingerprint(previous))):
                if value and value in index:
                    index[value].discard(key)
        self._items_pending[key] = doc
        if doc is None:
            self._bodies_pending.pop(key, None)
        else:
            if doc.get("original_key"):
                self._alias_pending.setdefault(doc["original_key"], set()).add(key)
            fingerprint = doc_fingerprint(doc)
            if fingerprint:
                self._fingerprint_pending.setdefault(fingerprint, set()).add(key)
        self._items_dirty = True

    def _stage_content(self, source: str, item: Item) -> str:
        self._bodies_by_hash[item.content_hash] = (item.summary_html, item.content_html)
        return f"{item.content_hash} {BODY_LOCATION}"

    def _write_docs(self, inserts: list[Doc], updates: list[tuple[Doc, Doc]]) -> None:
        pairs: list[tuple[Doc | None, Doc]] = [(None, doc) for doc in inserts]
        pairs.extend(updates)
        for before, after in pairs:
            digest = content_of(after)[0]
            if (before is None or content_of(before) != content_of(after)) and digest in self._bodies_by_hash:
                self._bodies_pending[after["key"]] = self._bodies_by_hash[digest]
            self._stage_doc(after["key"], after)
        self._bodies_by_hash.clear()

    def _pending_keys(self) -> list[str]:
        """Keys whose database row the staging overrides: queries leave them out."""
        return list(self._items_pending)

    def _pending_docs(self) -> list[Doc]:
        return [doc for doc in self._items_pending.values() if doc is not None]

    # -- backend primitives --------------------------------------------------

    def _prefetch(self, items: Sequence[Item]) -> None:
        """Four queries for a whole poll instead of four round trips per item (1,000 new items
        cost 0.7 s one by one at 20,000 stored)."""
        keys = sorted({item.key for item in items} | {item.original_key for item in items if item.original_key})
        fingerprints = sorted({fp for item in items if (fp := repost_fingerprint(item.title, item.published))})
        known: dict[str, dict[str, Any]] = {"doc": dict.fromkeys(keys), "original_key": {}, "fingerprint": {}}
        for key, doc in self._query("SELECT key, doc FROM items WHERE key = ANY(%s)", (keys,)):
            known["doc"][key] = doc
        for column, values in (("original_key", keys), ("fingerprint", fingerprints)):
            known[column] = {value: [] for value in values}
            rows = self._query(f"SELECT {column}, key FROM items WHERE {column} = ANY(%s) ORDER BY first_seen, key", (values,))
            for value, key in rows:
                known[column][value].append(key)
        known["tombstone"] = dict.fromkeys(keys, False)
        for (key,) in self._query("SELECT key FROM tombstones WHERE key = ANY(%s)", (keys,)):
            known["tombstone"][key] = True
        self._known = known

    def _end_prefetch(self) -> None:
        self._known = None

    def _doc(self, key: str) -> Doc | None:
        if key in self._items_pending:
            return self._items_pending[key]
        if self._known is not None and key in self._known["doc"]:
            return self._known["doc"][key]
        rows = self._query("SELECT doc FROM items WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def _first_key(self, column: str, value: str, pending: dict[str, set[str]]) -> str | None:
        if self._known is not None and value in self._known[column]:
            rows = [(key,) for key in self._known[column][value]]
        else:
            rows = self._query(f"SELECT key FROM items WHERE {column} = %s ORDER BY first_seen, key", (value,))
        for (key,) in rows:
            if key not in self._items_pending:
                return str(key)
        staged = pending.get(value)
        return min(staged) if staged else None

    def _key_by_alias(self, original_key: str) -> str | None:
        return self._first_key("original_key", original_key, self._alias_pending)

    def _key_by_fingerprint(self, fingerprint: str) -> str | None:
        return self._first_key("fingerprint", fingerprint, self._fingerprint_pending)

    def _body(self, doc: Mapping[str, Any]) -> Body:
        key = doc["key"]
        if key in self._bodies_pending:
            return self._bodies_pending[key]
        rows = self._query("SELECT summary_html, content_html FROM items WHERE key = %s", (key,))
        if not rows:
            log.warning("store: body of %s missing; publishing the entry without it", key)
            return None, None
        return rows[0][0], rows[0][1]

    def _stored(self, doc: Doc, body: Body | None) -> StoredItem:
        stored = self._to_stored(doc, with_body=False)
        return stored if body is None else replace(stored, summary_html=body[0], content_html=body[1])

    # -- items -------------------------------------------------------------

    def __len__(self) -> int:
        return sum(self.counts_by_source().values())

    def counts_by_source(self) -> dict[str, int]:
        """From the trigger-kept `source_counts`, corrected for what is staged."""
        counts = {str(source): int(n) for source, n in self._query("SELECT source, items FROM source_counts")}
        pending = self._pending_keys()
        if pending:
            staged_rows = "SELECT source, count(*) FROM items WHERE key = ANY(%s) GROUP BY source"
            for source, n in self._query(staged_rows, (pending,)):
                counts[str(source)] -= int(n)
            for doc in self._pending_docs():
                counts[doc["source"]] = counts.get(doc["source"], 0) + 1
        return {source: n for source, n in counts.items() if n}

    def is_tombstoned(self, key: str) -> bool:
        if key in self._tombstones_pending:
            return self._tombstones_pending[key] is not None
        if self._known is not None and key in self._known["tombstone"]:
            return bool(self._known["tombstone"][key])
        return bool(self._query("SELECT 1 FROM tombstones WHERE key = %s", (key,)))

    def _pages(self, with_body: bool, *, only_cases: bool = False) -> Iterator[tuple[Doc, Body | None]]:
        """Committed items not overridden by staging, in key order, a page per query (keyset paging:
        no transaction held open between pages, so callers may write while they iterate).
        `only_cases`: only documents with a penalty case (the server skips the rest)."""
        columns = "key, doc, summary_html, content_html" if with_body else "key, doc"
        having = " AND doc ? 'case'" if only_cases else ""
        pending = set(self._items_pending)
        last = ""
        while True:
            rows = self._query(
                f"SELECT {columns} FROM items WHERE key > %s{having} ORDER BY key LIMIT %s", (last, BATCH)
            )
            for row in rows:
                if row[0] not in pending:
                    yield row[1], ((row[2], row[3]) if with_body else None)
            if len(rows) < BATCH:
                return
            last = rows[-1][0]

    def items(self, *, with_body: bool = False) -> Iterator[StoredItem]:
        staged = self._pending_docs()
        for doc, body in self._pages(with_body):
            yield self._stored(doc, body)
        for doc in staged:
            yield self._to_stored(doc, with_body)

    def cases(self) -> Iterator[StoredItem]:
        staged = self._pending_docs()
        for doc, body in self._pages(False, only_cases=True):
            yield self._stored(doc, body)
        for doc in staged:
            if doc.get("case"):
                yield self._to_stored(doc, False)

    def newest(self, limits: Mapping[str, int]) -> dict[str, list[StoredItem]]:
        """The newest items of each category ("all": of every item), as many as its limit, bodies loaded.

        An index scan per category reads only the keys; then one query loads those items.
        """
        wanted = {slug: limit for slug, limit in limits.items() if slug != "all" and limit > 0}
        wanted["all"] = max(limits.get("all", 0), 0)
        pending = self._pending_keys()
        staged = self._pending_docs()
        chosen: dict[str, list[tuple[str, str]]] = {}  # slug -> [(sort key, key)], newest first

        def pick(conn: psycopg.Connection) -> None:
            for slug, limit in wanted.items():
                if slug == "all":
                    sql = "SELECT sort_key, key FROM items WHERE NOT (key = ANY(%s)) ORDER BY sort_key DESC LIMIT %s"
                    params: tuple[Any, ...] = (pending, limit)
                else:
                    sql = ("SELECT sort_key, key FROM item_categories WHERE category = %s AND NOT (key = ANY(%s))"
                           " ORDER BY sort_key DESC LIMIT %s")
                    params = (slug, pending, limit)
                rows = conn.execute(sql, params).fetchall() if limit else []
                mine = [(_db_sort_key(d), d["key"]) for d in staged if slug == "all" or slug in (d.get("categories") or ())]
                chosen[slug] = sorted([*rows, *mine], reverse=True)[:limit]

        self._run("read", pick)
        keys = {key for picked in chosen.values() for _sort, key in picked}
        loaded: dict[str, StoredItem] = {}
        from_db = [key for key in keys if key not in self._items_pending]
        for key, doc, summary, content in self._query(
            "SELECT key, doc, summary_html, content_html FROM items WHERE key = ANY(%s)", (from_db,)
        ):
            loaded[key] = self._stored(doc, (summary, content))
        for key in keys - set(from_db):
            doc = self._items_pending[key]
            assert doc is not None
            loaded[key] = self._to_stored(doc, with_body=True)
        return {slug: [loaded[key] for _sort, key in picked] for slug, picked in chosen.items()}

    def reclassify(self, categorize: Callable[[StoredItem], dict[str, list[str]]], *, with_body: bool = True) -> int:
        """Give every item the categories `categorize` finds now (per source); how many changed.

        Staged items change in the staging. A writer walks committed items with a server-side
        cursor and writes each batch's changes at once, in one transaction of its own.
        """

        def recategorize(doc: Doc, body: Body | None) -> Doc | None:
            return recategorized(doc, categorize(self._stored(doc, body)))

        changed = 0
        for key, doc in list(self._items_pending.items()):
            if doc is not None:
                new = recategorize(doc, self._body(doc) if with_body else None)
                if new is not None:
                    self._stage_doc(key, new)
                    changed += 1
        if self.readonly:  # nothing can be written: the staging holds the changes
            for doc, body in self._pages(with_body):  # it pages past a snapshot of the staging
                new = recategorize(doc, body)
                if new is not None:
                    self._stage_doc(new["key"], new)
                    changed += 1
            return changed
        pending = set(self._items_pending)

        def walk(conn: psycopg.Connection) -> int:
            count = 0
            columns = "doc, summary_html, content_html" if with_body else "doc"
            with conn.transaction(), conn.cursor(name="reclassify") as rows, conn.cursor() as cur:
                rows.execute(f"SELECT {columns} FROM items")
                while batch := rows.fetchmany(BATCH):
                    docs: list[tuple[str, Doc]] = []
                    for doc, *body in batch:
                        if doc["key"] not in pending:
                            new = recategorize(doc, (body[0], body[1]) if with_body else None)
                            if new is not None:
                                docs.append((new["key"], new))
                    if docs:
                        cur.execute("DELETE FROM item_categories WHERE key = ANY(%s)", ([key for key, _ in docs],))
                        cur.executemany("UPDATE items SET doc = %s WHERE key = %s", [(Jsonb(d), k) for k, d in docs])
                        with cur.copy("COPY item_categories (category, sort_key, key) FROM STDIN") as copy:
                            for key, doc in docs:
                                for category in set(doc.get("categories") or ()):
                                    copy.write_row((category, _db_sort_key(doc), key))
                        count += len(docs)
            return count

        return changed + self._run("write to", walk)

    def first_found(self, source: str, after: str = "") -> list[StoredItem]:
        """Items this source was first to find, first seen after `after` (an ISO time), oldest first."""
        rows = self._query(
            "SELECT doc FROM items WHERE source = %s AND first_seen > %s AND NOT (key = ANY(%s))",
            (source, after, self._pending_keys()),
        )
        docs = [row[0] for row in rows]
        docs += [d for d in self._pending_docs() if d["source"] == source and d["first_seen"] > after]
        docs.sort(key=lambda doc: (doc["first_seen"], doc["key"]))
        return [self._to_stored(doc, with_body=False) for doc in docs]

    def newest_first_found(self, source: str) -> str:
        """The latest first_seen among the items this source found ("" if none)."""
        ((latest,),) = self._query(
            "SELECT max(first_seen) FROM items WHERE source = %s AND NOT (key = ANY(%s))",
            (source, self._pending_keys()),
        )
        staged = [d["first_seen"] for d in self._pending_docs() if d["source"] == source]
        return max([latest or "", *staged])

    # -- retention -----------------------------------------------------------

    def prune(self, source: str, *, max_age: timedelta, max_count: int, now: datetime) -> int:
        """Drop a source's oldest items beyond age and count, keeping their keys as tombstones."""
        cutoff_iso = utc_iso(now - max_age)
        staged = [d for d in self._pending_docs() if d["source"] == source]
        ((count, oldest),) = self._query("SELECT count(*), min(first_seen) FROM items WHERE source = %s", (source,))
        oldest = min([oldest or "~", *(d["first_seen"] for d in staged)])
        if count + len(staged) <= max_count and oldest >= cutoff_iso:
            return 0  # the common case, from the (source, first_seen) index alone; over-counts are safe
        rows = self._query(
            "SELECT sort_key, key, first_seen, original_key FROM items WHERE source = %s AND NOT (key = ANY(%s))",
            (source, self._pending_keys()),
        )
        members = [tuple(row) for row in rows]
        members += [(_db_sort_key(d), d["key"], d["first_seen"], d.get("original_key")) for d in staged]
        cutoff = now - max_age
        members.sort(reverse=True)  # newest first: (published or first_seen, key) descending
        doomed = [
            member
            for rank, member in enumerate(members)
            # Age counts from first sight: columns list years-old items that are new to us.
            if rank >= max_count or (parse_iso(member[2]) or now) < cutoff
        ]
        pruned = utc_iso(now)
        for _sort, key, _first_seen, original_key in doomed:
            self._stage_doc(key, None)
            # A taken-over original is stored under its repost's key: its own key is buried too,
            # or the original's source would bring it back.
            for buried in {key, original_key} - {None}:
                self._tombstones_pending[buried] = {"key": buried, "source": source, "pruned": pruned}
        return len(doomed)

    def expire_tombstones(self, older_than: datetime) -> int:
        """Tombstones outlive any list page; after that they only cost space."""
        limit = utc_iso(older_than)
        rows = self._query("SELECT key FROM tombstones WHERE pruned < %s", (limit,))
        stale = {key for (key,) in rows if key not in self._tombstones_pending}
        stale |= {key for key, row in self._tombstones_pending.items() if row is not None and row["pruned"] < limit}
        for key in stale:
            self._tombstones_pending[key] = None
        if stale:
            self._items_dirty = True
        return len(stale)

    def collect_garbage(self) -> int:
        return 0  # bodies live in their item's row and go with it

    # -- poll state, meta ------------------------------------------------------

    def state(self, source: str) -> SourceState:
        if source in self._states_pending:
            return SourceState.from_doc(self._states_pending[source])
        rows = self._query("SELECT state FROM sources WHERE name = %s", (source,))
        return SourceState.from_doc(rows[0][0]) if rows else SourceState()

    def set_state(self, source: str, state: SourceState) -> None:
        self._states_pending[source] = asdict(state)
        self._dirty = True

    def states(self) -> dict[str, SourceState]:
        docs = {str(name): state for name, state in self._query("SELECT name, state FROM sources")}
        docs.update(self._states_pending)
        return {name: SourceState.from_doc(doc) for name, doc in docs.items()}

    def meta(self, name: str) -> Any:
        if name in self._meta_pending:
            return self._meta_pending[name]
        rows = self._query("SELECT value FROM meta WHERE name = %s", (name,))
        return rows[0][0] if rows else None

    def set_meta(self, name: str, value: Any) -> None:
        self._meta_pending[name] = value
        self._dirty = True

    # -- notifications ---------------------------------------------------------

    def notify_docs(self) -> list[Doc]:
        docs: dict[int, Doc | None] = {int(i): doc for i, doc in self._query("SELECT doc_id, doc FROM notify")}
        docs.update(self._notify_pending)
        return [{**doc, "doc_id": doc_id} for doc_id, doc in sorted(docs.items()) if doc is not None]

    def notify_put(self, doc: Doc, doc_id: int | None = None) -> int:
        doc = {k: v for k, v in doc.items() if k != "doc_id"}
        if self._next_notify_id is None:
            ((highest,),) = self._query("SELECT coalesce(max(doc_id), 0) FROM notify")
            self._next_notify_id = max([int(highest), *self._notify_pending]) + 1
        if doc_id is None:
            doc_id = self._next_notify_id
        self._next_notify_id = max(self._next_notify_id, doc_id + 1)  # ids are never reused
        self._notify_pending[doc_id] = doc
        self._items_dirty = True  # written at the next (lazy) commit, like item changes
        return doc_id

    def notify_remove(self, doc_ids: Sequence[int]) -> None:
        for doc_id in doc_ids:
            self._notify_pending[doc_id] = None
        if doc_ids:
            self._items_dirty = True

    # -- moving between backends -------------------------------------------------

    def dump(self) -> Iterator[tuple[str, Doc]]:
        meta = {str(name): value for name, value in self._query("SELECT name, value FROM meta")}
        meta.update(self._meta_pending)
        for name, value in meta.items():
            yield "meta", {"name": name, "value": value}
        for name, state in self.states().items():
            yield "state", {"name": name, **asdict(state)}
        staged = [(doc, self._body(doc)) for doc in self._pending_docs()]
        for doc, body in itertools.chain(self._pages(with_body=True), staged):  # a page at a time
            assert body is not None
            record = {k: v for k, v in doc.items() if k != "content"}
            yield "item", {**record, "content_hash": content_of(doc)[0], "summary_html": body[0], "content_html": body[1]}
        tombstones: dict[str, Doc | None] = {
            key: {"key": key, "source": source, "pruned": pruned}
            for key, source, pruned in self._query("SELECT key, source, pruned FROM tombstones")
        }
        tombstones.update(self._tombstones_pending)
        for row in tombstones.values():
            if row is not None:
                yield "tombstone", row
        for doc in self.notify_docs():
            yield "notify", doc

    def load(self, records: Iterable[tuple[str, Doc]]) -> None:
        """Add dumped records to this empty store, staged until `commit`; notification ids kept."""
        if self._query("SELECT 1 FROM items LIMIT 1") or self._pending_docs():
            raise StoreError(f"{self.location} already holds items; load (store migrate) needs an empty store")
        for table, record in records:
            if table == "meta":
                self.set_meta(record["name"], record.get("value"))
            elif table == "state":
                self.set_state(record["name"], SourceState.from_doc(record))
            elif table == "item":
                doc = {k: v for k, v in record.items() if k not in ("summary_html", "content_html", "content_hash")}
                digest = record.get("content_hash") or content_of(record)[0]
                doc = _compact({**doc, "content": f"{digest} {BODY_LOCATION}"})
                self._stage_doc(doc["key"], doc)
                self._bodies_pending[doc["key"]] = (record.get("summary_html"), record.get("content_html"))
            elif table == "tombstone":
                self._tombstones_pending[record["key"]] = {
                    "key": record["key"], "source": record.get("source"), "pruned": record["pruned"]
                }
                self._items_dirty = True
            elif table == "notify":
                self.notify_put(record, int(record["doc_id"]))
            else:
                raise StoreError(f"{self.location}: cannot load a record of unknown kind {table!r}")
