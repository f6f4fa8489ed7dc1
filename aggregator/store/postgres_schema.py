"""The PostgreSQL store's schema: forward migrations, applied in order by a writing open.

`MIGRATIONS[n]` takes a database from schema version n to n + 1. A migration is never
edited once released; a change of schema is a new entry at the end. The version lives
in `schema_version` (one row), written in the same transaction as the migrations, so a
store is at one version or the next, never half-way.

Text that is compared for order (`sort_key`, `key`, `first_seen`) is COLLATE "C": the
database's default collation (en_US.UTF-8 on most servers) would order ISO times and
keys unlike Python's string comparison, and feeds and pruning would disagree with the
TinyDB backend.
"""

from __future__ import annotations

import psycopg

from .errors import StoreError

MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE meta (name text PRIMARY KEY, value jsonb);
    CREATE TABLE sources (name text PRIMARY KEY, state jsonb NOT NULL);
    CREATE TABLE items (
        key text COLLATE "C" PRIMARY KEY,
        source text NOT NULL,
        doc jsonb NOT NULL,                -- the compact document both backends share (base.py)
        sort_key text COLLATE "C" NOT NULL, -- feed order: published or first_seen, then key
        fingerprint text,                  -- repost fingerprint: same title on the same day
        original_key text,                 -- the article a repost points to (原文链接)
        first_seen text COLLATE "C" NOT NULL,
        summary_html text,                 -- the body: dies with its row, no garbage to collect
        content_html text
    );
    CREATE INDEX items_source ON items (source, first_seen);
    CREATE INDEX items_fingerprint ON items (fingerprint) WHERE fingerprint IS NOT NULL;
    CREATE INDEX items_original_key ON items (original_key) WHERE original_key IS NOT NULL;
    CREATE INDEX items_sort_key ON items (sort_key);
    -- One row per category of an item: newest() is an index scan per feed.
    CREATE TABLE item_categories (
        category text NOT NULL,
        sort_key text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        PRIMARY KEY (category, sort_key, key)
    );
    CREATE INDEX item_categories_key ON item_categories (key);
    CREATE TABLE tombstones (key text COLLATE "C" PRIMARY KEY, source text, pruned text COLLATE "C" NOT NULL);
    CREATE INDEX tombstones_pruned ON tombstones (pruned);
    CREATE TABLE notify (doc_id bigint PRIMARY KEY, doc jsonb NOT NULL);
    """,
    # 2: items per source kept by a trigger: `status` and /status.json asked for them with a
    # GROUP BY over every item (0.3-0.7 s at 1,000,000 items, on the daemon's event loop).
    """
    CREATE TABLE source_counts (source text PRIMARY KEY, items bigint NOT NULL);
    INSERT INTO source_counts SELECT source, count(*) FROM items GROUP BY source;
    CREATE FUNCTION count_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE source_counts SET items = items - 1 WHERE source = OLD.source;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO source_counts VALUES (NEW.source, 1)
                ON CONFLICT (source) DO UPDATE SET items = source_counts.items + 1;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER items_counted AFTER INSERT OR DELETE OR UPDATE OF source ON items
        FOR EACH ROW EXECUTE FUNCTION count_items();
    """,
]

LATEST = len(MIGRATIONS)


def _version(conn: psycopg.Connection) -> int | None:
    """The store's schema version; None when it has no schema at all."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _too_new(location: str, version: int) -> StoreError:
    return StoreError(
        f"{location} has store schema version {version}, newer than this program knows ({LATEST});"
        " upgrade the program (pip install -U feed-aggregator)"
    )


def check(conn: psycopg.Connection, location: str) -> None:
    """For a read-only open, which never migrates: the schema must be there and current."""
    version = _version(conn)
    if version is None:
        raise StoreError(
            f"{location} holds no feed-aggregator store yet; run the daemon once (it creates the"
            " schema) or fix `store`"
        )
    if version > LATEST:
        raise _too_new(location, version)
    if version < LATEST:
        raise StoreError(
            f"{location} has store schema version {version}, older than this program's ({LATEST});"
            " run the daemon (or any writing command) once to migrate it"
        )


def migrate(conn: psycopg.Connection, location: str) -> int:
    """Bring the schema up to date in one transaction; how many migrations ran.

    The caller holds the store's advisory lock, so no other writer migrates at the same time.
    """
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        version = _version(conn) or 0
        if version > LATEST:
            raise _too_new(location, version)
        for sql in MIGRATIONS[version:]:
            conn.execute(sql)  # type: ignore[arg-type]  # our own constant SQL, no parameters
        if version < LATEST:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (LATEST,))
    return LATEST - version
