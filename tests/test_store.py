"""The store: diffing, identity, retention, locking, and surviving `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from aggregator.store import StoreError, StoreLocked, open_store, read_tables

from .storehelpers import NOW, item



@pytest.fixture(params=["tinydb", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same contract on both backends: a new TinyDB path, or a new PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "store.json")


def test_new_changed_and_unchanged_items(location: str) -> None:
    with open_store(location) as store:
        first = store.apply("s", [item(1), item(2)], NOW)
        assert (len(first.new), len(first.changed), first.unchanged) == (2, 0, 0)
        again = store.apply("s", [item(1), item(2)], NOW + timedelta(hours=1))
        assert (len(again.new), len(again.changed), again.unchanged) == (0, 0, 2)
        edited = store.apply("s", [item(1, body="edited")], NOW + timedelta(hours=2))
        assert edited.changed == ["url:https://example.org/1"]
        stored = store.get("url:https://example.org/1")
        assert stored is not None
        assert stored.content_html == "<p>edited</p>"
        assert stored.updated == NOW + timedelta(hours=2)
        assert stored.first_seen == NOW
    with open_store(location) as store:
        assert len(store) == 2
        assert store.get("url:https://example.org/1").content_html == "<p>edited</p>"  # type: ignore[union-attr]


def test_atom_id_is_fixed_at_first_insert(location: str) -> None:
    with open_store(location) as store:
        store.apply("s", [item(1)], NOW)
        before = store.get("url:https://example.org/1").atom_id  # type: ignore[union-attr]
        store.apply("s", [item(1, title="A new title for the same article")], NOW + timedelta(days=1))
        assert store.get("url:https://example.org/1").atom_id == before  # type: ignore[union-attr]


def test_repost_with_original_link_is_one_item_with_both_sources(location: str) -> None:
    original = item(1, source="gov")
    repost = item(
        2, source="portal", title=original.title, original_url=original.url, key="url:https://portal.example/9"
    )
    with open_store(location) as store:
        store.apply("gov", [original], NOW)
        diff = store.apply("portal", [repost], NOW)
        assert diff.new == [] and diff.reposts == [original.key]
        stored = store.get(original.key)
        assert stored is not None and stored.source == "gov" and stored.sources == ("gov", "portal")
        assert len(store) == 1


def test_repost_seen_before_its_original_is_credited_to_the_original(location: str) -> None:
    original = item(1, source="gov")
    repost = item(2, source="portal", original_url=original.url, key="url:https://portal.example/9")
    with open_store(location) as store:
        store.apply("portal", [repost], NOW)
        store.apply("gov", [original], NOW)
        assert len(store) == 1
        (stored,) = list(store.items())
        assert stored.source == "gov" and stored.url == original.url and set(stored.sources) == {"gov", "portal"}


def test_repost_without_link_is_recognised_by_title_and_day(location: str) -> None:
    title = "浙江省生态环境厅召开2023年度全省生态环境执法工作推进会"
    with open_store(location) as store:
        store.apply("gov", [item(1, title=title, source="gov")], NOW)
        repost = item(2, title=f" {title}！", source="portal", published=NOW - timedelta(hours=1), url="https://portal.example/2")
        diff = store.apply("portal", [repost], NOW)
        assert diff.new == [] and len(store) == 1


def test_pruned_items_stay_pruned_while_the_source_still_lists_them(location: str) -> None:
    with open_store(location) as store:
        items = [item(n) for n in range(1, 16)]
        store.apply("s", items, NOW)
        assert store.prune("s", max_age=timedelta(days=365), max_count=10, now=NOW) == 5
        assert len(store) == 10
        diff = store.apply("s", items, NOW + timedelta(hours=1))
        assert diff.new == [] and diff.skipped_tombstoned == 5
        assert len(store) == 10


def test_second_store_on_the_same_file_is_refused(location: str) -> None:
    with open_store(location):
        with pytest.raises(StoreLocked, match="one daemon owns a store at a time"):
            open_store(location)
    open_store(location).close()  # the lock is released on close


def test_a_foreign_or_damaged_store_file_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text('{"items": {"1": {"key": "x"', encoding="utf-8")
    with pytest.raises(StoreError, match="not valid JSON"):
        open_store(path)
    assert path.read_text(encoding="utf-8").startswith('{"items"')


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from aggregator.models import Item
    from aggregator.store import open_store

    store = open_store(sys.argv[1])
    start = len(store)
    now = datetime.now(timezone.utc)
    for batch in range(start // 50, 10_000):
        items = [
            Item(key=f"url:https://e.org/{batch}/{n}", source="s", url=f"https://e.org/{batch}/{n}",
                 title=f"t{batch}-{n}", published=now, updated=None, content_html="x" * 2000,
                 content_hash=f"{batch}-{n}")
            for n in range(50)
        ]
        store.apply("s", items, now)
        store.commit()
        print(f"committed {len(store)}", flush=True)
    """
)


def test_kill_9_mid_write_loses_no_committed_item(location: str, tmp_path: Path) -> None:
    """A writer is killed at several points; each restart loads every item it had committed."""
    path = location
    on_files = not location.startswith("postgresql://")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    committed = 0
    for round_number, commits_before_kill in enumerate((1, 3, 7, 2, 5)):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            committed = int(line.split()[1])
            seen += 1
            if seen >= commits_before_kill:
                break
        # The writer is mid-way through its next commit (2 MB of JSON) when it dies.
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if on_files:
            raw = read_tables(Path(path))  # always complete files
            assert len(raw["items"]) >= committed, f"round {round_number}"
        with open_store(path) as store:
            keys = [stored.key for stored in store.items()]
            assert len(keys) == len(set(keys)) >= committed
            assert all(stored.content_hash for stored in store.items())
            # Temp files of the interrupted write are cleared once the store is reopened.
            assert not list(tmp_path.glob(".store.json.*.tmp"))


def test_lazy_commits_batch_writes_and_keep_items_with_their_etag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aggregator.store.tinydb as store_module  # the module whose commit() reads the clock
    from aggregator.store import SourceState, open_store

    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: clock[0])
    path = tmp_path / "store.json"
    with open_store(path) as store:
        store.apply("s", [item(1)], NOW)
        store.set_state("s", SourceState(etag='"v1"'))
        assert store.commit(lazy=True) is False  # within ITEM_COMMIT_SECONDS of opening: batched
        assert not path.exists()
        clock[0] += store_module.ITEM_COMMIT_SECONDS
        assert store.commit(lazy=True) is True  # items and their ETag, together
        saved = read_tables(path)
        assert saved["sources"]["1"]["etag"] == '"v1"' and len(saved["items"]) == 1
        store.set_state("s", SourceState(etag='"v1"', last_attempt="2026-01-10T12:30:00+00:00"))
        clock[0] += store_module.ITEM_COMMIT_SECONDS
        assert store.commit(lazy=True) is False  # only poll state: waits longer
        clock[0] += store_module.STATE_COMMIT_SECONDS
        assert store.commit(lazy=True) is True
        store.set_state("s", SourceState(etag='"v2"'))
    # Closing flushes what was deferred.
    assert read_tables(path)["sources"]["1"]["etag"] == '"v2"'


def test_repost_link_matches_the_original_across_scheme_and_column_variants(location: str) -> None:
    from aggregator.normalise.urls import item_key

    original_url = "https://sthjt.zj.gov.cn/art/2023/4/23/art_1229116_58938545.html"
    original = item(1, source="gov", url=original_url, key=item_key(original_url))
    # The repost cites the http:// address under another column id: still the same article.
    repost = item(
        2,
        source="portal",
        title="完全不同的转载标题，不能靠标题识别",
        key="url:https://portal.example/9",
        original_url="http://sthjt.zj.gov.cn/art/2023/4/23/art_1202652_58938545.html",
    )
    with open_store(location) as store:
        store.apply("portal", [repost], NOW)
        store.apply("gov", [original], NOW)
        (stored,) = list(store.items())
        assert stored.source == "gov" and stored.url == original_url and set(stored.sources) == {"gov", "portal"}
        # A second repost of the same original joins the same item.
        again = item(3, source="blog", title="又一个转载", key="url:https://blog.example/x", original_url=original_url)
        assert store.apply("blog", [again], NOW).new == []
        assert len(store) == 1


def test_housekeeping_expires_old_tombstones_and_unused_bodies(tmp_path: Path) -> None:
    from aggregator.config import parse_config
    from aggregator.pipeline import housekeeping

    config = parse_config(f'[settings]\nstore = "{tmp_path / "store.json"}"\nretention_days = 30\n')
    with open_store(config.store_path) as store:
        packs = lambda: sorted(p.name for p in (store.blob_dir / "packs").glob("*.pack"))  # noqa: E731
        store.apply("s", [item(n) for n in range(1, 11)], NOW)
        store.commit()  # bodies are on disk once the commit that refers to them is
        store.apply("s", [item(11), item(12)], NOW - timedelta(days=1))
        store.apply("other", [item(13, source="other")], NOW)
        store.commit()
        assert len(packs()) == 3  # one per source and commit
        store.prune("s", max_age=timedelta(days=30), max_count=10, now=NOW)  # items 11 and 12 go
        store.commit()
        # Within three retention periods the tombstones stay, so listed items stay out;
        # the pack that held only items 11 and 12 goes.
        assert housekeeping(config, store, NOW + timedelta(days=89)) == (0, 1)
        assert len(packs()) == 2 and store.apply("s", [item(11)], NOW).new == []
        assert housekeeping(config, store, NOW + timedelta(days=91)) == (2, 0)
        assert all(store.get(f"url:https://example.org/{n}").content_html == "<p>body</p>" for n in (*range(1, 11), 13))  # type: ignore[union-attr]


def test_an_edit_keeps_both_bodies_until_the_old_pack_is_unused(tmp_path: Path) -> None:
    with open_store(tmp_path / "store.json") as store:
        store.apply("s", [item(1), item(2)], NOW)
        store.commit()
        store.apply("s", [item(1, body="edited")], NOW)
        store.commit()
        assert store.collect_garbage() == 0  # the first pack still holds item 2's body
        assert store.get("url:https://example.org/1").content_html == "<p>edited</p>"  # type: ignore[union-attr]
    with open_store(tmp_path / "store.json") as store:  # and after a restart
        assert store.get("url:https://example.org/1").content_html == "<p>edited</p>"  # type: ignore[union-attr]
        assert store.get("url:https://example.org/2").content_html == "<p>body</p>"  # type: ignore[union-attr]


def test_bodies_staged_but_never_committed_leave_nothing_behind(tmp_path: Path) -> None:
    """A crash between staging and commit: neither the items nor their pack survive."""
    path = tmp_path / "store.json"
    script = textwrap.dedent(
        f"""
        import os
        from datetime import datetime, timezone
        from aggregator.models import Item
        from aggregator.store import open_store
        store = open_store({str(path)!r})
        store.apply("s", [Item(key="url:https://example.org/1", source="s", url="https://example.org/1",
                               title="t", published=None, updated=None, content_html="<p>x</p>", content_hash="h")],
                    datetime.now(timezone.utc))
        store._write_packs()  # the packs got written, then the process died before the store file
        os.kill(os.getpid(), 9)
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[1], check=False)
    with open_store(path) as store:
        assert len(store) == 0
        assert store.collect_garbage() == 1
        assert list((store.blob_dir / "packs").glob("*")) == []


def _single_file_store(path: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    """A store as kept before shards: one TinyDB file of `[table, id, document]` lines."""
    lines = [
        orjson.dumps([table, str(number), doc]) for table, docs in tables.items() for number, doc in enumerate(docs, 1)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_a_store_from_before_shards_and_packs_is_converted_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    docs = []
    for n in (1, 2):
        content_hash = f"{n:04d}hash"
        legacy = tmp_path / "store.json.blobs" / content_hash[:2] / f"{content_hash}.json"  # a body file per item
        legacy.parent.mkdir(parents=True, exist_ok=True)
        legacy.write_bytes(orjson.dumps({"summary_html": None, "content_html": f"<p>old layout {n}</p>"}))
        docs.append({"key": f"url:https://example.org/{n}", "source": "s", "url": f"https://example.org/{n}",
                     "title": f"Item number {n} about the river", "published": "2026-01-10T10:00:00+00:00",
                     "first_seen": "2026-01-10T11:00:00+00:00", "content_hash": content_hash,
                     "categories": ["ecology"]})
    _single_file_store(path, {
        "items": docs,
        "sources": [{"name": "s", "etag": '"v1"', "consecutive_failures": 0}],
        "tombstones": [{"key": "url:https://example.org/9", "source": "s", "pruned": "2026-01-09T00:00:00+00:00"}],
        "meta": [{"name": "created", "value": "2025-12-01T00:00:00+00:00"}],
        "notify": [{"type": "cursor", "target": "mail", "after": "2026-01-01"}],
    })
    before = path.read_bytes()
    with open_store(path) as store:
        assert len(store) == 2
        assert store.get("url:https://example.org/1").content_html == "<p>old layout 1</p>"  # type: ignore[union-attr]
        assert store.state("s").etag == '"v1"'
        assert store.is_tombstoned("url:https://example.org/9")
        assert store.created == datetime(2025, 12, 1, tzinfo=timezone.utc)
        assert [doc["target"] for doc in store.notify_docs()] == ["mail"]
        assert [i.key for i in store.newest({"ecology": 5})["ecology"]] == [d["key"] for d in reversed(docs)]
        store.apply("s", [item(2, body="edited")], NOW)  # an edit goes to a pack
        store.commit()
        assert store.collect_garbage() == 1  # item 2's old file
        assert store.get("url:https://example.org/1").content_html == "<p>old layout 1</p>"  # type: ignore[union-attr]
        assert store.get("url:https://example.org/2").content_html == "<p>edited</p>"  # type: ignore[union-attr]
    assert (tmp_path / "store.json.v1-backup").read_bytes() == before  # the old file, kept whole
    with open_store(path) as store:  # and it reads as the new layout from now on
        assert len(store) == 2 and store.state("s").etag == '"v1"'


def test_a_store_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with open_store(path) as store:
        store.apply("s", [item(1)], NOW)
    manifest = orjson.loads(path.read_bytes())
    path.write_bytes(orjson.dumps({**manifest, "version": 99}))
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version of this program .*upgrade it"):
        open_store(path)
    assert path.read_bytes() == before


def test_same_title_same_day_on_one_site_are_different_documents(location: str) -> None:
    title = "浙江省生态环境厅行政处罚决定书"
    with open_store(location) as store:
        store.apply("gov", [item(1, title=title), item(2, title=title)], NOW)
        assert store.apply("gov", [item(3, title=title)], NOW).new == ["url:https://example.org/3"]
        assert len(store) == 3


def test_an_original_that_took_over_its_repost_keeps_updating_it_after_restarts(location: str) -> None:
    original = item(1, source="gov")
    repost = item(2, source="portal", original_url=original.url, key="url:https://portal.example/9")
    path = location
    with open_store(path) as store:
        store.apply("portal", [repost], NOW)
        store.apply("gov", [original], NOW)
        edited = item(1, source="gov", body="edited")
        assert store.apply("gov", [edited], NOW + timedelta(hours=1)).changed
    with open_store(path) as store:
        assert store.apply("gov", [edited], NOW + timedelta(hours=2)).new == []
        (stored,) = list(store.items(with_body=True))
        assert stored.content_html == "<p>edited</p>" and stored.source == "gov"


def test_status_can_read_a_store_the_daemon_holds(location: str) -> None:
    path = location
    with open_store(path) as owner:
        owner.apply("s", [item(1), item(2)], NOW)
        owner.commit()
        with open_store(path, readonly=True) as reader:
            assert len(reader) == 2 and reader.counts_by_source() == {"s": 2}
            reader.apply("s", [item(3)], NOW)
            with pytest.raises(StoreError, match="read-only"):
                reader.commit()
        assert len(owner) == 2
    with open_store(path) as again:
        assert len(again) == 2  # the read-only open wrote nothing


def test_a_category_named_twice_counts_once(location: str) -> None:
    with open_store(location) as store:
        store.apply("s", [item(1, categories=("enforcement", "enforcement", "ecology"))], NOW)
        (stored,) = list(store.items())
        assert stored.categories == ("ecology", "enforcement")
        assert len(store.newest({"enforcement": 5})["enforcement"]) == 1


def test_a_stock_tinydb_json_file_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text(
        '{"items": {"1": {"key": "url:https://e.org/1", "source": "s", "url": "https://e.org/1",'
        ' "title": "An item from an older store", "first_seen": "2026-01-01T00:00:00+00:00",'
        ' "content_hash": "abc"}}, "sources": {}}',
        encoding="utf-8",
    )
    with open_store(path) as store:
        assert len(store) == 1
        store.apply("s", [item(2)], NOW)
    assert path.read_text(encoding="utf-8").startswith('{"format":"aggregator-store"')
    assert (tmp_path / "store.json.v1-backup").read_text(encoding="utf-8").startswith('{"items"')
    with open_store(path) as store:
        assert len(store) == 2


def test_after_a_takeover_the_repost_source_no_longer_rewrites_the_item(location: str) -> None:
    original = item(1, source="gov", body="original text")
    repost = item(2, source="portal", original_url=original.url, key="url:https://portal.example/9", body="copy")
    with open_store(location) as store:
        store.apply("portal", [repost], NOW)
        store.apply("gov", [original], NOW)
        for hour in range(1, 4):  # both sources keep listing it
            later = NOW + timedelta(hours=hour)
            assert not store.apply("portal", [repost], later).changed
            assert not store.apply("gov", [original], later).changed
        (stored,) = list(store.items(with_body=True))
        assert stored.url == original.url and stored.content_html == "<p>original text</p>"


def test_a_retitled_then_pruned_item_leaves_no_stale_index_behind(location: str) -> None:
    with open_store(location) as store:
        first = item(20, title="浙江省生态环境厅召开执法工作会议的原标题")  # the oldest
        store.apply("gov", [first], NOW)
        store.apply("gov", [item(20, title="浙江省生态环境厅召开执法工作会议的新标题")], NOW)
        store.apply("gov", [item(n) for n in range(2, 13)], NOW)
        store.prune("gov", max_age=timedelta(days=365), max_count=10, now=NOW)
        assert store.get(first.key) is None  # pruned
        # Another site lists the old title on the same day: a new item, not a crash.
        other = item(
            99, source="portal", title=first.title, published=first.published,
            url="https://portal.example/99", key="url:https://portal.example/99",
        )
        assert store.apply("portal", [other], NOW).new == [other.key]


def test_a_pruned_original_that_took_over_its_repost_stays_pruned(location: str) -> None:
    original = item(30, source="gov")  # the oldest, so the one pruned
    repost = item(31, source="portal", original_url=original.url, key="url:https://portal.example/9")
    with open_store(location) as store:
        store.apply("portal", [repost], NOW)
        store.apply("gov", [original], NOW)
        store.apply("gov", [item(n, source="gov") for n in range(1, 11)], NOW)
        store.prune("gov", max_age=timedelta(days=365), max_count=10, now=NOW)
        assert len(store) == 10 and store.get(repost.key) is None
        assert store.apply("gov", [original], NOW).new == []
        assert store.apply("portal", [repost], NOW).new == []
        assert len(store) == 10


def test_poll_state_facts_and_notifications_survive_a_reopen(location: str) -> None:
    from aggregator.store import SourceState

    with open_store(location) as store:
        store.set_state("s", SourceState(etag='"v1"', consecutive_failures=2, last_error="HTTP 503"))
        store.set_meta("classification", "abc")
        first = store.notify_put({"type": "cursor", "target": "mail", "after": "2026-01-01"})
        second = store.notify_put({"type": "outbox", "target": "mail", "keys": ["k1"]})
        store.notify_remove([first])
        store.notify_put({"type": "outbox", "target": "mail", "keys": ["k1", "k2"]}, second)
    with open_store(location) as store:
        assert store.state("s").etag == '"v1"' and store.state("s").last_error == "HTTP 503"
        assert store.states().keys() == {"s"} and store.state("other") == SourceState()
        assert store.meta("classification") == "abc" and store.created is not None
        assert store.notify_docs() == [{"type": "outbox", "target": "mail", "keys": ["k1", "k2"], "doc_id": second}]


def test_newest_follows_publish_time_per_category_across_sources(location: str) -> None:
    with open_store(location) as store:
        for n in range(1, 41):  # item n is n hours old; every third also in "enforcement"
            cats = ("ecology", "enforcement") if n % 3 == 0 else ("ecology",)
            store.apply(f"s{n % 4}", [item(n, source=f"s{n % 4}", categories=cats)], NOW)
        store.commit()
        newest = store.newest({"all": 5, "enforcement": 3, "missing": 2})
        assert [i.key for i in newest["all"]] == [f"url:https://example.org/{n}" for n in (1, 2, 3, 4, 5)]
        assert [i.key for i in newest["enforcement"]] == [f"url:https://example.org/{n}" for n in (3, 6, 9)]
        assert newest["missing"] == [] and newest["all"][0].content_html == "<p>body</p>"
        store.prune("s3", max_age=timedelta(days=365), max_count=0, now=NOW)  # 3 and others leave
        assert [i.key for i in store.newest({"enforcement": 3})["enforcement"]] == [
            f"url:https://example.org/{n}" for n in (6, 9, 12)
        ]


def test_migrate_copies_everything_and_checks_it(location: str, tmp_path: Path) -> None:
    from aggregator.store import SourceState
    from aggregator.store.migrate import migrate

    source = tmp_path / "from" / "store.json"
    with open_store(source) as store:
        store.apply("gov", [item(n, source="gov", categories=("ecology",)) for n in range(1, 31)], NOW)
        store.apply("portal", [item(40, source="portal", original_url="https://example.org/1", key="url:https://p.example/1")], NOW)
        store.prune("gov", max_age=timedelta(days=365), max_count=25, now=NOW)
        store.set_state("gov", SourceState(etag='"e"'))
        store.notify_put({"type": "cursor", "target": "t"})
    checks = migrate(source, location)
    assert [(c.table, c.source_count, c.matches) for c in checks] == [
        ("meta", 1, True), ("state", 1, True), ("item", 25, True), ("tombstone", 5, True), ("notify", 1, True)
    ]
    with open_store(location) as copied:
        assert copied.get("url:https://example.org/1").sources == ("gov", "portal")  # type: ignore[union-attr]
        assert copied.apply("gov", [item(30, source="gov")], NOW).skipped_tombstoned == 1
        assert copied.newest({"ecology": 1})["ecology"][0].content_html == "<p>body</p>"


def test_a_commit_rewrites_only_the_shards_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aggregator.store.tinydb as tinydb

    monkeypatch.setattr(tinydb, "CHUNK_ITEMS", 5)  # a source's items spread over shards of 5
    path = tmp_path / "store.json"

    def shard_files() -> dict[str, str]:
        files = orjson.loads(path.read_bytes())["files"]
        return {part: gen for part, gen in files.items() if part.startswith("s")}

    with open_store(path) as store:
        store.apply("s", [item(n) for n in range(1, 13)], NOW)  # 12 items: shards of 5, 5 and 2
        store.apply("t", [item(50, source="t")], NOW)
        store.commit()
        before = shard_files()
        assert len(before) == 4
        store.apply("s", [item(13)], NOW)  # a new item: the source's last shard only
        store.commit()
        after = shard_files()
        assert [part for part in after if after[part] != before[part]] == ["s3"]  # s: s1 s2 s3; t: s4
        store.apply("s", [item(1, body="edited")], NOW)  # an edit: the shard that holds the item
        store.commit()
        edited = shard_files()
        assert len([part for part in edited if edited[part] != after[part]]) == 1
        assert store.prune("s", max_age=timedelta(days=365), max_count=4, now=NOW) == 9
        store.commit()
    assert not [p for p in (tmp_path / "store.json.d").iterdir() if p.name.split(".")[0] not in
                {f"{part}-{gen}" for part, gen in orjson.loads(path.read_bytes())["files"].items()}]
    with open_store(path) as store:
        assert len(store) == 5 and store.counts_by_source() == {"s": 4, "t": 1}
        assert store.get("url:https://example.org/1").content_html == "<p>edited</p>"  # type: ignore[union-attr]
        assert store.apply("s", [item(12)], NOW).skipped_tombstoned == 1
        assert [i.key for i in store.first_found("s")] == [f"url:https://example.org/{n}" for n in (1, 2, 3, 4)]


def test_a_damaged_or_missing_shard_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with open_store(path) as store:
        store.apply("s", [item(1)], NOW)
    (shard,) = (tmp_path / "store.json.d").glob("s*.jsonl")
    shard.write_bytes(b'["items", "1", {"key": \n')
    with open_store(path) as store, pytest.raises(StoreError, match=rf"{shard.name}:1: not a store line"):
        store.get(item(1).key)
    shard.unlink()
    with open_store(path) as store, pytest.raises(StoreError, match=rf"{shard.name} is missing, though the store's"):
        store.get(item(1).key)
    shard.with_suffix(".idx").unlink()
    with pytest.raises(StoreError, match=rf"{shard.stem}.idx is missing, though the store's manifest names it"):
        open_store(path)


def test_migrate_refuses_a_missing_source_and_leaves_an_old_layout_source_as_it_was(tmp_path: Path) -> None:
    from aggregator.store.migrate import migrate

    with pytest.raises(StoreError, match="no store there"):
        migrate(tmp_path / "typo.json", tmp_path / "new" / "store.json")
    assert not (tmp_path / "new").exists() and not (tmp_path / "typo.json.lock").exists()
    old = tmp_path / "old" / "store.json"
    old.parent.mkdir()
    _single_file_store(old, {"items": [{"key": "url:https://e.org/1", "source": "s", "url": "https://e.org/1",
                                        "title": "An item from an older store", "first_seen": "2026-01-01T00:00:00+00:00",
                                        "content_hash": "abc"}]})
    before = sorted(p.name for p in old.parent.iterdir())
    checks = migrate(old, tmp_path / "new" / "store.json")
    assert [c.source_count for c in checks if c.table == "item"] == [1] and all(c.matches for c in checks)
    assert sorted(p.name for p in old.parent.iterdir() if p.suffix != ".lock") == before  # not converted
    with pytest.raises(StoreError, match="FROM and TO are the same store"):
        migrate(old, old)


def test_damaged_summaries_and_state_are_named_and_damaged_heads_are_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with open_store(path) as store:
        store.apply("s", [item(n, categories=("ecology",)) for n in (1, 2, 3)], NOW)
        from aggregator.store import SourceState

        store.set_state("s", SourceState(etag='"e"'))
    directory = tmp_path / "store.json.d"
    (heads,) = directory.glob("heads-*.jsonl")
    heads.write_bytes(b'{"x": 1}\n')
    with open_store(path) as store:  # only derived data: rebuilt from the shards
        assert [i.key for i in store.newest({"ecology": 2})["ecology"]] == [item(1).key, item(2).key]
    (state,) = directory.glob("state-*.jsonl")
    state.write_bytes(state.read_bytes() + b"zzz\n")
    with pytest.raises(StoreError, match=rf"{state.name}:2: not a store line .* Restore store.json.d from a backup"):
        open_store(path)
    state.write_bytes(state.read_bytes()[:-4])
    (summary,) = directory.glob("s1-*.idx")
    summary.write_bytes(b"garbage")
    with pytest.raises(StoreError, match=rf"{summary.name}: not a shard summary .* move store.json and store.json.d aside"):
        open_store(path)


def test_a_manifest_reformatted_by_hand_still_opens(tmp_path: Path) -> None:
    import json

    path = tmp_path / "store.json"
    with open_store(path) as store:
        store.apply("s", [item(1), item(2)], NOW)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2), encoding="utf-8")  # as jq . would
    with open_store(path) as store:
        assert len(store) == 2
        store.apply("s", [item(3)], NOW)
    with open_store(path) as store:
        assert len(store) == 3


def test_a_first_commit_cut_short_is_cleared_but_a_lost_manifest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    with open_store(path) as store:
        store.apply("s", [item(1)], NOW)
        store.commit()
        path.unlink()  # as if killed between writing generation 1 and its manifest
    with open_store(path) as store:
        assert len(store) == 0  # nothing was committed: the files of generation 1 are cleared
        store.apply("s", [item(2)], NOW)
        store.commit()
        store.apply("s", [item(3)], NOW)
    path.unlink()  # now the manifest of generation 2 is lost: refuse rather than start anew over it
    with pytest.raises(StoreError, match="store.json is missing, but store.json.d holds a store's files"):
        open_store(path)
