"""The PostgreSQL store against a real server: the store contract, the lock, errors, migrations.

`postgres_url` (conftest.py) is a fresh database on a throwaway server per test; the test
that stops the server mid-run starts a private one of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest

from aggregator.models import Item
from aggregator.store import SourceState, StoreError, StoreLocked, open_store

if os.environ.get("AGGREGATOR_SKIP_POSTGRES"):
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
else:
    import psycopg  # in the test extra: missing, these tests fail rather than vanish

from aggregator.store.postgres import PostgresStore  # noqa: E402  # needs psycopg

from .storehelpers import NOW  # noqa: E402
from .storehelpers import item as store_item  # noqa: E402



def item(n: int, **fields: object) -> Item:
    """As in test_store.py, with a summary too: item n, published n hours before NOW."""
    return store_item(n, **{"summary_html": f"<p>summary {n}</p>", **fields})  # type: ignore[arg-type]


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message and exc.value.__cause__ is None
    return message


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    opened = open_store(postgres_url)
    assert isinstance(opened, PostgresStore)
    try:
        yield opened
    finally:
        opened.close()


# -- the store contract --------------------------------------------------------------


def test_new_changed_and_unchanged_items_and_bodies_survive_a_reopen(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        first = store.apply("s", [item(1), item(2)], NOW)
        assert (len(first.new), len(first.changed), first.unchanged) == (2, 0, 0)
        again = store.apply("s", [item(1), item(2)], NOW + timedelta(hours=1))
        assert (len(again.new), len(again.changed), again.unchanged) == (0, 0, 2)
        store.commit()
        edited = store.apply("s", [item(1, body="edited")], NOW + timedelta(hours=2))
        assert edited.changed == ["url:https://example.org/1"]
        stored = store.get("url:https://example.org/1")
        assert stored is not None and stored.content_html == "<p>edited</p>"
        assert stored.updated == NOW + timedelta(hours=2) and stored.first_seen == NOW
    with open_store(postgres_url) as store:
        assert len(store) == 2
        one, two = store.get("url:https://example.org/1"), store.get("url:https://example.org/2")
        assert one is not None and two is not None
        assert (one.summary_html, one.content_html) == ("<p>summary 1</p>", "<p>edited</p>")
        assert two.content_html == "<p>body</p>"  # a body not edited stays in its row
        assert store.apply("s", [item(1, body="edited"), item(2)], NOW).unchanged == 2
        assert store.collect_garbage() == 0


def test_repost_with_original_link_is_one_item_with_both_sources(store: PostgresStore) -> None:
    original = item(1, source="gov")
    repost = item(2, source="portal", title=original.title, original_url=original.url, key="url:https://portal.example/9")
    store.apply("gov", [original], NOW)
    store.commit()  # the original from the database, the repost staged
    diff = store.apply("portal", [repost], NOW)
    assert diff.new == [] and diff.reposts == [original.key]
    stored = store.get(original.key)
    assert stored is not None and stored.source == "gov" and stored.sources == ("gov", "portal")
    assert len(store) == 1 and store.counts_by_source() == {"gov": 1}


@pytest.mark.parametrize("commit_between", [False, True])
def test_repost_seen_before_its_original_is_credited_to_the_original(store: PostgresStore, commit_between: bool) -> None:
    original = item(1, source="gov", body="original text")
    repost = item(2, source="portal", original_url=original.url, key="url:https://portal.example/9", body="copy")
    store.apply("portal", [repost], NOW)
    if commit_between:
        store.commit()
    store.apply("gov", [original], NOW)
    store.commit()
    for hour in range(1, 3):  # both keep listing it: the repost's source no longer rewrites it
        assert not store.apply("portal", [repost], NOW + timedelta(hours=hour)).changed
        assert not store.apply("gov", [original], NOW + timedelta(hours=hour)).changed
        store.commit()
    (stored,) = list(store.items(with_body=True))
    assert stored.source == "gov" and stored.url == original.url and set(stored.sources) == {"gov", "portal"}
    assert stored.content_html == "<p>original text</p>"


def test_repost_without_link_is_recognised_by_title_and_day(store: PostgresStore) -> None:
    title = "浙江省生态环境厅召开2023年度全省生态环境执法工作推进会"
    store.apply("gov", [item(1, title=title, source="gov")], NOW)
    store.commit()
    repost = item(2, title=f" {title}！", source="portal", published=NOW - timedelta(hours=1), url="https://portal.example/2")
    assert store.apply("portal", [repost], NOW).new == [] and len(store) == 1


def test_same_title_same_day_on_one_site_are_different_documents(store: PostgresStore) -> None:
    title = "浙江省生态环境厅行政处罚决定书"
    store.apply("gov", [item(1, title=title), item(2, title=title)], NOW)
    store.commit()
    assert store.apply("gov", [item(3, title=title)], NOW).new == ["url:https://example.org/3"]
    assert len(store) == 3


def test_pruned_items_stay_pruned_and_tombstones_expire(postgres_url: str) -> None:
    items = [item(n) for n in range(1, 16)]
    with open_store(postgres_url) as store:
        store.apply("s", items, NOW)
        store.commit()
        store.apply("s", [item(16, published=NOW - timedelta(days=400))], NOW - timedelta(days=400))  # staged, too old
        assert store.prune("s", max_age=timedelta(days=365), max_count=10, now=NOW) == 6
        assert len(store) == 10 and store.is_tombstoned(items[-1].key)
        assert [i.key for i in store.first_found("s")][:1] == [items[0].key]
    with open_store(postgres_url) as store:
        diff = store.apply("s", items, NOW + timedelta(hours=1))
        assert diff.new == [] and diff.skipped_tombstoned == 5 and len(store) == 10
        assert store.expire_tombstones(NOW - timedelta(days=1)) == 0
        assert store.expire_tombstones(NOW + timedelta(seconds=1)) == 6
        assert store.apply("s", [items[-1]], NOW + timedelta(hours=2)).new == [items[-1].key]


def test_a_pruned_original_that_took_over_its_repost_stays_pruned(store: PostgresStore) -> None:
    original = item(30, source="gov")  # the oldest, so the one pruned
    repost = item(31, source="portal", original_url=original.url, key="url:https://portal.example/9")
    store.apply("portal", [repost], NOW)
    store.apply("gov", [original], NOW)
    store.apply("gov", [item(n, source="gov") for n in range(1, 11)], NOW)
    store.commit()
    assert store.prune("gov", max_age=timedelta(days=365), max_count=10, now=NOW) == 1
    store.commit()
    assert len(store) == 10 and store.get(repost.key) is None
    assert store.apply("gov", [original], NOW).new == [] and store.apply("portal", [repost], NOW).new == []


def test_state_meta_and_notify_round_trip(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        created = store.created
        assert created is not None
        store.set_state("s", SourceState(etag='"v1"', consecutive_failures=2))
        store.set_meta("classification", {"rules": ["a", "b"]})
        assert store.state("s").etag == '"v1"' and store.meta("classification") == {"rules": ["a", "b"]}
        first = store.notify_put({"type": "cursor", "source": "s", "seen": ""})
        second = store.notify_put({"type": "batch", "items": ["k"]})
        store.commit()
        store.notify_remove([first])
        store.notify_put({"type": "batch", "items": ["k", "j"], "doc_id": 999}, second)
        assert [d["doc_id"] for d in store.notify_docs()] == [second]
    with open_store(postgres_url) as store:
        assert store.created == created
        assert store.state("s") == SourceState(etag='"v1"', consecutive_failures=2)
        assert store.states() == {"s": SourceState(etag='"v1"', consecutive_failures=2)}
        assert store.state("unknown") == SourceState()
        assert store.notify_docs() == [{"type": "batch", "items": ["k", "j"], "doc_id": second}]
        assert store.notify_put({"type": "x"}) > second  # ids are not reused
        store.set_meta("classification", None)
    with open_store(postgres_url, readonly=True) as store:
        assert store.meta("classification") is None


def test_staged_writes_are_invisible_to_a_reader_until_commit(postgres_url: str) -> None:
    with open_store(postgres_url) as owner:
        owner.apply("s", [item(1)], NOW)
        owner.set_state("s", SourceState(etag='"v1"'))
        owner.notify_put({"type": "batch"})
        owner.commit()
        owner.apply("s", [item(2), item(1, body="edited")], NOW)
        owner.set_state("s", SourceState(etag='"v2"'))
        with open_store(postgres_url, readonly=True) as reader:
            assert len(reader) == 1 and reader.state("s").etag == '"v1"'
            assert reader.get(item(1).key).content_html == "<p>body</p>"  # type: ignore[union-attr]
            assert len(owner) == 2 and owner.state("s").etag == '"v2"'  # the owner sees its own staging
            assert owner.get(item(1).key).content_html == "<p>edited</p>"  # type: ignore[union-attr]
            owner.commit()
            assert len(reader) == 2 and reader.state("s").etag == '"v2"'
            assert reader.get(item(1).key).content_html == "<p>edited</p>"  # type: ignore[union-attr]
            assert reader.counts_by_source() == {"s": 2} and len(reader.notify_docs()) == 1
            reader.apply("s", [item(3)], NOW)
            with pytest.raises(StoreError, match="read-only"):
                reader.commit()
    with open_store(postgres_url) as again:
        assert len(again) == 2  # the read-only open wrote nothing


def test_lazy_commits_batch_writes_and_keep_items_with_their_etag(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aggregator.store.postgres as module

    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    with open_store(postgres_url) as store, open_store(postgres_url, readonly=True) as reader:
        store.apply("s", [item(1)], NOW)
        store.set_state("s", SourceState(etag='"v1"'))
        assert store.commit(lazy=True) is False and len(reader) == 0
        clock[0] += module.ITEM_COMMIT_SECONDS
        assert store.commit(lazy=True) is True and len(reader) == 1 and reader.state("s").etag == '"v1"'
        store.set_state("s", SourceState(etag='"v2"'))
        clock[0] += module.ITEM_COMMIT_SECONDS
        assert store.commit(lazy=True) is False  # only poll state: waits longer
        clock[0] += module.STATE_COMMIT_SECONDS
        assert store.commit(lazy=True) is True and reader.state("s").etag == '"v2"'
        assert store.commit() is False  # nothing staged


def test_newest_per_category_in_order_and_within_limits(store: PostgresStore) -> None:
    # Item n is published n hours ago: lower n is newer. Odd items are "ecology", every third "law".
    def cats(n: int) -> tuple[str, ...]:
        return tuple(name for name, hit in (("ecology", n % 2 == 1), ("law", n % 3 == 0)) if hit)

    store.apply("s", [item(n, categories=cats(n)) for n in range(1, 31)], NOW)
    store.commit()
    store.apply("s", [item(n, categories=cats(n)) for n in range(31, 41)], NOW)  # staged, older
    store.apply("s", [item(0, categories=("law",))], NOW)  # staged, the newest
    feeds = store.newest({"all": 5, "ecology": 4, "law": 50, "empty": 3, "none": 0})
    assert set(feeds) == {"all", "ecology", "law", "empty"}
    key = lambda n: f"url:https://example.org/{n}"  # noqa: E731
    assert [i.key for i in feeds["all"]] == [key(n) for n in range(0, 5)]
    assert [i.key for i in feeds["ecology"]] == [key(n) for n in (1, 3, 5, 7)]
    assert [i.key for i in feeds["law"]] == [key(n) for n in (0, *range(3, 40, 3))]
    assert feeds["empty"] == [] and feeds["all"][1].content_html == "<p>body</p>"
    # A change of category moves an item between feeds.
    store.commit()
    store.apply("s", [item(1, categories=("law",))], NOW)
    assert key(1) not in [i.key for i in store.newest({"ecology": 3})["ecology"]]
    store.commit()
    assert [i.key for i in store.newest({"ecology": 3})["ecology"]] == [key(n) for n in (3, 5, 7)]
    assert store.newest({"law": 2})["law"][1].key == key(1)


def test_reclassify_changes_staged_and_committed_items(store: PostgresStore) -> None:
    store.apply("s", [item(n) for n in range(1, 6)], NOW)
    store.commit()
    store.apply("s", [item(6)], NOW)
    odd = lambda stored: {"s": ["odd"] if int(stored.key.rsplit("/", 1)[1]) % 2 else []}  # noqa: E731
    assert store.reclassify(odd, with_body=False) == 3
    assert store.reclassify(odd) == 0
    assert sorted(i.key for i in store.newest({"odd": 10})["odd"]) == [f"url:https://example.org/{n}" for n in (1, 3, 5)]
    assert all(i.content_html == "<p>body</p>" for i in store.newest({"odd": 10})["odd"])


def test_dump_load_into_a_second_database_gives_equal_checksums(postgres_url: str, postgres_server: object) -> None:
    from tests.pgserver import PgServer

    assert isinstance(postgres_server, PgServer)
    with open_store(postgres_url) as source:
        original = item(1, source="gov")
        source.apply("portal", [item(2, source="portal", original_url=original.url, key="url:https://portal.example/9")], NOW)
        source.apply("gov", [original, item(3, source="gov", categories=("ecology",))], NOW)
        source.apply("s", [item(n, list_hash=f"row{n}") for n in range(10, 25)], NOW)
        source.prune("s", max_age=timedelta(days=365), max_count=10, now=NOW)
        source.set_state("s", SourceState(etag='"e"'))
        source.notify_put({"type": "cursor", "seen": "x"}, 7)
        source.commit()
        source.apply("s", [item(26)], NOW)  # staged records are dumped too
        expected = source.checksums()
        records = list(source.dump())
    assert expected["item"][0] == 13 and expected["tombstone"][0] == 5 and expected["notify"][0] == 1
    other = postgres_server.create_database()
    try:
        with open_store(postgres_server.url(other)) as target:
            target.load(records)
            assert target.checksums() == expected  # staged: already equal before the commit
            target.commit()
        with open_store(postgres_server.url(other), readonly=True) as target:
            assert target.checksums() == expected
            assert [d["doc_id"] for d in target.notify_docs()] == [7]
            taken_over = target.get("url:https://portal.example/9")  # the original took over its repost
            assert taken_over is not None and taken_over.url == original.url and taken_over.content_html == "<p>body</p>"
        with open_store(postgres_server.url(other)) as target, pytest.raises(StoreError, match="empty store"):
            target.load(records)
    finally:
        postgres_server.drop_database(other)


# -- the lock, errors, migrations --------------------------------------------------------


def test_a_second_writer_is_refused_with_one_line_naming_the_owner(postgres_url: str) -> None:
    import os

    with open_store(postgres_url):
        with pytest.raises(StoreLocked) as refused:
            open_store(postgres_url)
        message = one_line(refused)
        assert "one daemon owns a store at a time" in message and f"pid {os.getpid()}" in message
        assert "test-password" not in message and ":***@" in message
        with open_store(postgres_url, readonly=True) as reader:  # readers take no lock
            assert len(reader) == 0
    open_store(postgres_url).close()  # the lock is released on close


def test_database_down_at_start_is_one_line(postgres_server: object) -> None:
    from tests.pgserver import PASSWORD, free_port

    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(StoreError) as failed:
        open_store(url)
    message = one_line(failed)
    assert "(connection refused); start PostgreSQL or fix `store`" in message and PASSWORD not in message


def test_wrong_password_is_one_line(postgres_url: str) -> None:
    from tests.pgserver import PASSWORD

    wrong = postgres_url.replace(PASSWORD, "not-the-password")
    with pytest.raises(StoreError) as failed:
        open_store(wrong)
    message = one_line(failed)
    assert "authentication failed for user postgres; fix the password in `store`, or use `env:NAME`" in message
    assert "not-the-password" not in message
    with pytest.raises(StoreError, match="authentication failed"):
        open_store(wrong, readonly=True)


def test_a_schema_newer_than_the_program_is_refused(postgres_url: str) -> None:
    from aggregator.store.postgres_schema import LATEST

    open_store(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (LATEST + 1,))
    for readonly in (False, True):
        with pytest.raises(StoreError) as failed:
            open_store(postgres_url, readonly=readonly)
        assert "newer than this program knows" in one_line(failed) and "upgrade the program" in str(failed.value)


def test_a_reader_never_creates_or_migrates_the_schema(postgres_url: str) -> None:
    with pytest.raises(StoreError) as failed:
        open_store(postgres_url, readonly=True)
    assert "no feed-aggregator store yet" in one_line(failed)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('items')").fetchone() == (None,)
    open_store(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 0")
    with pytest.raises(StoreError, match="older than this program's"):
        open_store(postgres_url, readonly=True)


def test_server_stopped_mid_run_loses_and_repeats_nothing(postgres_server: object) -> None:
    """A private server (stopping the session's would break the other tests)."""
    from tests.pgserver import PgServer

    assert isinstance(postgres_server, PgServer)
    server = PgServer(postgres_server.bindir)
    try:
        server.start()
        url = server.url(server.create_database())
        store = open_store(url)
        store.apply("s", [item(1), item(2)], NOW)
        store.commit()
        store.apply("s", [item(3), item(1, body="edited")], NOW)
        store.set_state("s", SourceState(etag='"after"'))
        store.notify_put({"type": "batch", "items": [item(3).key]})
        server.stop()
        with pytest.raises(StoreError) as failed:
            store.commit()
        assert "nothing staged is lost" in one_line(failed)
        with pytest.raises(StoreError):
            store.commit()  # still down: still kept
        with pytest.raises(StoreError) as read_failed:
            store.get(item(2).key)
        one_line(read_failed)
        assert isinstance(store, PostgresStore) and len(store._items_pending) == 2  # the staging is intact
        server.start()
        assert store.commit() is True
        store.close()
        with open_store(url, readonly=True) as reader:
            assert len(reader) == 3 and reader.state("s").etag == '"after"'
            assert reader.get(item(1).key).content_html == "<p>edited</p>"  # type: ignore[union-attr]
            assert len(reader.notify_docs()) == 1
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT count(*) FROM item_categories").fetchone() == (0,)
                assert conn.execute("SELECT count(*), count(DISTINCT key) FROM items").fetchone() == (3, 3)
        # A restart while idle: the next commit just reconnects (and takes the lock again).
        store = open_store(url)
        store.apply("s", [item(4)], NOW)
        server.stop()
        server.start()
        assert store.commit() is True and len(store) == 4
        with pytest.raises(StoreLocked):
            open_store(url)  # the lock was taken again with the new connection
        store.close()
    finally:
        server.destroy()


def test_password_is_never_in_location() -> None:
    from aggregator.store.postgres_connection import redact

    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgres://u@h/db?sslmode=require&password=secret") == "postgres://u@h/db?sslmode=require&password=***"
    assert redact("postgresql://h/db") == "postgresql://h/db"


def test_paged_reads_cross_page_boundaries_and_overlay_the_staging(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aggregator.store.postgres as module

    monkeypatch.setattr(module, "BATCH", 3)  # items(), dump() and reclassify() read a page at a time
    store.apply("s", [item(n) for n in range(1, 11)], NOW)
    store.commit()
    store.apply("s", [item(11), item(12), item(4, body="edited")], NOW + timedelta(hours=1))
    listed = list(store.items(with_body=True))
    assert sorted(i.key for i in listed) == sorted(f"url:https://example.org/{n}" for n in range(1, 13))
    assert next(i for i in listed if i.key.endswith("/4")).content_html == "<p>edited</p>"
    assert sum(1 for table, _ in store.dump() if table == "item") == 12
    assert store.reclassify(lambda stored: {"s": ["all-of-them"]}, with_body=True) == 12
    assert len(store.newest({"all-of-them": 100})["all-of-them"]) == 12


def test_first_found_overlays_the_staging(store: PostgresStore) -> None:
    store.apply("gov", [item(1, source="gov")], NOW)
    store.commit()
    later = NOW + timedelta(hours=1)
    store.apply("gov", [item(2, source="gov")], later)
    store.apply("portal", [item(3, source="portal")], later)
    assert [i.key for i in store.first_found("gov")] == [item(1).key, item(2).key]
    assert [i.key for i in store.first_found("gov", after=NOW.isoformat())] == [item(2).key]
    assert store.newest_first_found("gov") == later.isoformat() and store.newest_first_found("none") == ""


@pytest.mark.parametrize("commit_between", [False, True])
def test_a_retitled_then_pruned_item_leaves_no_stale_index_behind(store: PostgresStore, commit_between: bool) -> None:
    first = item(20, title="浙江省生态环境厅召开执法工作会议的原标题")  # the oldest
    store.apply("gov", [first], NOW)
    if commit_between:
        store.commit()
    store.apply("gov", [item(20, title="浙江省生态环境厅召开执法工作会议的新标题")], NOW)
    store.apply("gov", [item(n) for n in range(2, 13)], NOW)
    store.prune("gov", max_age=timedelta(days=365), max_count=10, now=NOW)
    assert store.get(first.key) is None
    other = item(99, source="portal", title=first.title, published=first.published,
                 url="https://portal.example/99", key="url:https://portal.example/99")
    assert store.apply("portal", [other], NOW).new == [other.key]


def test_a_store_at_an_older_schema_is_migrated_forward_by_the_next_writer(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        store.apply("a", [item(1, source="a"), item(2, source="a")], NOW)
        store.apply("b", [item(3, source="b")], NOW)
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # back to schema 1: no source_counts
        conn.execute("DROP TRIGGER items_counted ON items; DROP FUNCTION count_items(); DROP TABLE source_counts")
        conn.execute("UPDATE schema_version SET version = 1")
    with pytest.raises(StoreError, match="older than this program's"):
        open_store(postgres_url, readonly=True)  # a reader never migrates
    with open_store(postgres_url) as store:  # a writer does, counting what is there
        assert store.counts_by_source() == {"a": 2, "b": 1} and len(store) == 3
        store.apply("a", [item(4, source="a")], NOW)
        assert store.counts_by_source() == {"a": 3, "b": 1}  # staged items count too
        store.prune("a", max_age=timedelta(days=365), max_count=1, now=NOW)
    with open_store(postgres_url, readonly=True) as store:
        assert store.counts_by_source() == {"a": 1, "b": 1}
        with psycopg.connect(postgres_url) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchone() == (2,)


def test_a_writer_whose_lock_session_was_killed_takes_it_again_or_stops_writing(postgres_url: str) -> None:
    def kill_lock_sessions() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE application_name LIKE 'feed-aggregator: pid%%' AND pid <> pg_backend_pid()")

    first = open_store(postgres_url)
    first.apply("s", [item(1)], NOW)
    kill_lock_sessions()  # the lock is gone with its session; nobody else wants it yet
    assert first.commit() is True
    with pytest.raises(StoreLocked):
        open_store(postgres_url)  # the commit took the lock again
    kill_lock_sessions()
    second = open_store(postgres_url)  # a second daemon starts in the gap...
    first.apply("s", [item(2)], NOW)
    with pytest.raises(StoreLocked):
        first.commit()  # ...and the first one stops writing rather than write beside it
    second.close()
    first.abandon()
    with open_store(postgres_url, readonly=True) as reader:
        assert [i.key for i in reader.items()] == [item(1).key]
