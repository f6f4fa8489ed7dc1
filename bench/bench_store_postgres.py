"""Publishing from the PostgreSQL store at a million items: newest() for 22 feeds x 50 entries.

Starts a throwaway server (tests/pgserver.py), fills it with N items by SQL (the diff
would take far longer and is not what is measured), then times `newest()` and a poll.
    .venv/bin/python bench/bench_store_postgres.py [N]
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import psycopg  # noqa: E402

from aggregator.models import Item  # noqa: E402
from aggregator.store import open_store  # noqa: E402
from tests.pgserver import PgServer, find_bindir  # noqa: E402

CATEGORIES = [f"cat{n:02d}" for n in range(21)]  # + "all" = 22 feeds

FILL = """
INSERT INTO items (key, source, doc, sort_key, fingerprint, original_key, first_seen, summary_html, content_html)
SELECT 'url:https://e.org/' || n, 'src' || (n %% 200),
       jsonb_build_object('key', 'url:https://e.org/' || n, 'source', 'src' || (n %% 200), 'url', 'https://e.org/' || n,
                          'title', 'Item ' || n, 'published', p, 'first_seen', p,
                          'categories', jsonb_build_array('cat' || lpad((n %% 21)::text, 2, '0')),
                          'content', md5(n::text) || ' db'),
       p || chr(1) || 'url:https://e.org/' || n, NULL, NULL, p, NULL, repeat('<p>body text</p>', 60)
FROM (SELECT n, to_char(timestamp '2020-01-01' + n * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') AS p
      FROM generate_series(%s, %s) AS n) AS g
"""


def main(count: int) -> None:
    bindir = find_bindir()
    assert bindir is not None, "no PostgreSQL binaries"
    server = PgServer(bindir)
    try:
        server.start()
        url = server.url(server.create_database())
        open_store(url).close()  # the schema
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            for start in range(0, count, 100_000):
                conn.execute(FILL, (start, min(start + 100_000, count) - 1))
            conn.execute(
                "INSERT INTO item_categories SELECT doc->'categories'->>0, sort_key, key FROM items"
            )
            conn.execute("VACUUM ANALYZE")
        print(f"filled {count:,} items in {time.perf_counter() - started:.1f} s")
        limits = {"all": 50, **{name: 50 for name in CATEGORIES}}
        with open_store(url) as store:
            for attempt in range(3):
                started = time.perf_counter()
                feeds = store.newest(limits)
                took = time.perf_counter() - started
                entries = sum(len(v) for v in feeds.values())
                print(f"newest(): 22 feeds, {entries} entries with bodies in {took * 1000:.0f} ms (run {attempt + 1})")
            now = datetime.now(timezone.utc)
            items = [
                Item(key=f"url:https://new.org/{n}", source="src1", url=f"https://new.org/{n}", title=f"新的条目 {n} 关于河流治理",
                     published=now - timedelta(minutes=n), updated=None, content_html="<p>x</p>" * 100, content_hash=f"h{n}",
                     categories=("cat01",))
                for n in range(50)
            ]
            started = time.perf_counter()
            store.apply("src1", items, now)
            applied = time.perf_counter() - started
            started = time.perf_counter()
            store.commit()
            print(f"a poll of 50 new items: apply {applied * 1000:.0f} ms, commit {(time.perf_counter() - started) * 1000:.0f} ms")
            started = time.perf_counter()
            feeds = store.newest(limits)
            print(f"newest() after the poll: {(time.perf_counter() - started) * 1000:.0f} ms;"
                  f" cat01 starts with {feeds['cat01'][0].key}")
            started = time.perf_counter()
            print(f"len() = {len(store):,} in {(time.perf_counter() - started) * 1000:.0f} ms")
            started = time.perf_counter()
            pruned = store.prune("src1", max_age=timedelta(days=3650), max_count=1000, now=now)
            print(f"prune of one source ({pruned} items): {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        server.destroy()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
