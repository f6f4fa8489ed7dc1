"""Benchmark 2: the store at 20,000 to 1,000,000 items, on TinyDB or PostgreSQL.

    .venv/bin/python -m bench.bench_store [--items 20000 200000 1000000] [--runs 3]
        [--backend tinydb|postgresql] [--against REF]

Builds (once, cached: under $TMPDIR/bench-store-<items>-<layout> for TinyDB, as a template
database for PostgreSQL) a store of realistic items from 1,000 sources (CJK titles, 2-4k-character
bodies, two of 20 categories each). Then, per run, each phase in a fresh process (peak RSS is the
phase's own) on a fresh copy of that store:
- load: open the store as the daemon does at start-up;
- poll: a poll bringing 1,000 new items as the pipeline does it (50 sources x 20 new items, each
  source: apply, prune, set_state, lazy commit; then the commit before publishing);
- publish: 22 feeds (20 categories of 50 entries, `all`, and the health feed) written from the store;
- steady: the store work of a steady-state cycle of all 1,000 sources (nothing new).
`--against REF` also runs load and poll with the store code of git revision REF (a temporary
worktree, its own cached store), alternating with this checkout.
Goals (issue 21): the 1,000-new-item commit < 1 s at 1,000,000 items and at most twice its cost at
20,000; start-up < 3 s; peak RSS < 500 MB; on PostgreSQL publish of 22 feeds < 0.5 s.

PostgreSQL: `--postgres ADMIN_URL` (a superuser URL) or, without it, a throwaway server started
like the tests do (Debian's `postgresql` package).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.sites import _PHRASES, machine_info, median  # children of --against import the ref's bench

ROOT = Path(__file__).resolve().parents[1]
SOURCES = 1000
CATEGORIES = [
    "enforcement", "air", "water", "soil", "waste", "climate", "permits", "eia", "monitoring", "nature",
    "ocean", "noise", "radiation", "chemicals", "biodiversity", "inspection", "policy", "law", "data", "notices",
]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _paragraphs() -> list[str]:
    rng = random.Random(7)
    return ["".join(rng.choice(_PHRASES) + "，" for _ in range(rng.randint(8, 25))) + "。" for _ in range(400)]


def make_items(source_index: int, numbers: range, *, salt: str = "", paragraphs: list[str] | None = None) -> list:
    """Items as normalise_item would produce them for a gov list source."""
    from aggregator.models import Item
    from aggregator.normalise.urls import item_key

    paragraphs = paragraphs or _paragraphs()
    items = []
    host = f"sthjj{source_index}.example.gov.cn"
    for n in numbers:
        rng = random.Random(f"{source_index}/{n}/{salt}")
        url = f"https://{host}/art/2026/5/{1 + n % 28}/art_{1200 + source_index}_{n}{salt}.html"
        body = "".join(f"<p>{rng.choice(paragraphs)}</p>" for _ in range(rng.randint(6, 12)))
        title = "".join(rng.choice(_PHRASES) for _ in range(rng.randint(3, 6))) + f"（{source_index}-{n}{salt}）"
        items.append(
            Item(
                key=item_key(url),
                source=f"src-{source_index:04d}",
                url=url,
                title=title,
                published=NOW - timedelta(hours=n % 5000, minutes=source_index % 60),
                updated=None,
                origin="某市生态环境局",
                content_html=body + f"<p>{n}{salt}</p>",
                content_hash=f"{source_index:04d}{n:08d}{salt}".ljust(64, "0"),
                categories=tuple(sorted({CATEGORIES[source_index % 20], CATEGORIES[(n * 7 + 3) % 20]})),
            )
        )
    return items


LAYOUT = "v8"  # the TinyDB layout the cache was built with (shards of up to 500 items since v8)


def _open_store() -> Any:
    try:
        from aggregator.store import open_store
    except ImportError:  # a revision from before open_store (bench --against)
        from aggregator.store import Store as open_store  # type: ignore[attr-defined,no-redef]
    return open_store


def build(location: str, total: int) -> None:
    from aggregator.store import SourceState

    open_store = _open_store()

    if not location.startswith("postgres"):
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    per_source = total // SOURCES
    paragraphs = _paragraphs()
    with open_store(location) as store:
        for index in range(SOURCES):
            store.apply(f"src-{index:04d}", make_items(index, range(per_source), paragraphs=paragraphs), NOW)
            store.set_state(f"src-{index:04d}", SourceState(etag='"abc"', last_success=NOW.isoformat(), max_items_seen=20))
            if index % 10 == 9:
                store.commit()  # as a daemon's lazy commits would: bodies go to one pack per source
        store.commit()


def _timed_store_open(location: str) -> tuple[Any, float]:
    open_store = _open_store()
    start = time.perf_counter()
    store = open_store(location)
    return store, time.perf_counter() - start


def _leave(store: Any) -> None:
    """Exit without the commit close() would make (and for TinyDB, without deleting anything)."""
    if hasattr(store, "abandon"):
        store.abandon()
    else:  # a revision from before abandon() (bench --against)
        store._release_lock()


def child_load(location: str) -> dict[str, float]:
    store, seconds = _timed_store_open(location)
    items = len(store)
    _leave(store)
    return {"load": seconds, "rss": _rss_mib(), "items": items}


def child_poll(location: str, new: str, salt: str) -> dict[str, float]:
    count = int(new)
    store, load = _timed_store_open(location)
    paragraphs = _paragraphs()
    per_source = 20
    batches = [
        (index, make_items(index, range(10_000, 10_000 + per_source), salt=salt, paragraphs=paragraphs))
        for index in range(0, count // per_source)
    ]
    start = time.perf_counter()
    commits = 0
    # What poll_source does for each of the 50 sources that had news.
    for index, items in batches:
        name = f"src-{index:04d}"
        state = store.state(name)
        store.apply(name, items, NOW)
        store.prune(name, max_age=timedelta(days=365), max_count=2000, now=NOW)
        state.last_attempt = state.last_success = NOW.isoformat()
        store.set_state(name, state)
        commits += store.commit(lazy=True)  # as poll_source does: batched, at most every few seconds
    commits += store.commit()  # the daemon commits before it publishes
    seconds = time.perf_counter() - start
    items = len(store)
    _leave(store)
    return {"write": seconds, "commits": commits, "load": load, "rss": _rss_mib(), "items": items}


def child_publish(location: str, output: str) -> dict[str, float]:
    from aggregator.classify import CLASSIFICATION_META, classification_fingerprint
    from aggregator.config import parse_config
    from aggregator.pipeline import publish_from_store

    lines = ["[settings]", f"store = {json.dumps(location)}", f"output_dir = {json.dumps(output)}", "feed_entries = 50",
             "[serve]", "enabled = false"]
    for slug in CATEGORIES:
        lines += [f"[categories.{slug}]", f'title = "{slug}"']
    config = parse_config("\n".join(lines) + "\n")
    store, load = _timed_store_open(location)
    store.set_meta(CLASSIFICATION_META, classification_fingerprint(config))  # built classified: no re-sort
    start = time.perf_counter()
    written = publish_from_store(config, store, now=NOW)
    seconds = time.perf_counter() - start
    _leave(store)
    return {"publish": seconds, "files": len(written), "load": load, "rss": _rss_mib()}


def child_steady(location: str) -> dict[str, float]:
    store, _load = _timed_store_open(location)
    start = time.perf_counter()
    cpu0 = time.process_time()
    for index in range(SOURCES):
        # A not-modified poll: only the source's state changes, and poll_source commits.
        name = f"src-{index:04d}"
        state = store.state(name)
        state.last_attempt = (NOW + timedelta(minutes=30)).isoformat()
        store.set_state(name, state)
        store.commit(lazy=True)  # as poll_source does
    store.commit()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    _leave(store)
    return {"steady": seconds, "steady_cpu": cpu, "rss": _rss_mib()}


def _child(tree: Path, *args: str) -> dict[str, float]:
    """This script's phase `args[0]` in a fresh process, importing `aggregator` from `tree`."""
    script = Path(__file__).resolve()
    out = subprocess.run([sys.executable, str(script), *args], cwd=tree, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(tree)})
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- TinyDB copies -----------------------------------------------------------


def cached_store(items: int, tree: Path = ROOT, tag: str = LAYOUT) -> Path:
    """The directory of a built TinyDB store of `items` items, building it the first time."""
    cache = Path(tempfile.gettempdir()) / f"bench-store-{items}-{tag}"
    if not (cache / "store.json").exists():
        print(f"building a {items:,}-item store in {cache} (once) ...", flush=True)
        start = time.perf_counter()
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        _child(tree, "_build", str(cache / "store.json"), str(items))
        print(f"  built in {time.perf_counter() - start:.0f}s", flush=True)
    return cache


def copy_store(cache: Path, target: Path) -> Path:
    """A private copy of a cached TinyDB store in `target`; returns its path.

    Shard files are never changed in place (a commit writes new ones), so hard links are a safe
    copy of them; bodies are shared through a symlink (packs are immutable too)."""
    shutil.copy2(cache / "store.json", target / "store.json")
    if (cache / "store.json.d").exists():
        shutil.copytree(cache / "store.json.d", target / "store.json.d", copy_function=os.link)
    os.symlink(cache / "store.json.blobs", target / "store.json.blobs")
    return target / "store.json"


def _du(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


# -- PostgreSQL copies ------------------------------------------------------------


class PostgresCopies:
    """Template databases per size, and a fresh database per phase copied from one."""

    def __init__(self, admin_url: str | None) -> None:
        self.server: Any = None
        if admin_url is None:
            sys.path.insert(0, str(ROOT))
            from tests.pgserver import PgServer, find_bindir

            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("PostgreSQL binaries not found: apt-get install postgresql, or pass --postgres ADMIN_URL")
            self.server = PgServer(bindir)
            self.server.start(durable=True)  # fsync on, as a deployment runs it
            admin_url = self.server.url()
        self.admin_url = admin_url

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql)

    def url(self, database: str) -> str:
        from urllib.parse import urlsplit, urlunsplit

        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{database}"))

    def template(self, items: int) -> str:
        import psycopg

        name = f"bench_store_{items}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            print(f"building a {items:,}-item PostgreSQL store ({name}, once) ...", flush=True)
            start = time.perf_counter()
            self._execute(f"CREATE DATABASE {name}")
            _child(ROOT, "_build", self.url(name), str(items))
            print(f"  built in {time.perf_counter() - start:.0f}s", flush=True)
        return name

    def copy(self, template: str, name: str) -> str:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def drop(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name}")

    def close(self) -> None:
        if self.server is not None:
            self.server.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("tinydb", "postgresql"), default="tinydb")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="a superuser URL (default: a throwaway server)")
    parser.add_argument("--against", metavar="REF", help="TinyDB: also run load and poll on this git revision")
    parser.add_argument("--skip-steady", action="store_true", help="skip the 1,000-commit steady-state cycle")
    args = parser.parse_args()
    from bench.sites import checkouts  # here: a --against child imports the older revision's bench.sites

    print(f"machine: {machine_info()}; backend: {args.backend}")
    postgres = PostgresCopies(args.postgres) if args.backend == "postgresql" else None
    table: list[tuple[str, int, dict[str, float]]] = []
    try:
        with checkouts(args.against if postgres is None else None) as trees:
            for items in args.items:
                for label, tree in trees.items():
                    figures = _measure(items, label, tree, args, postgres)
                    table.append((label, items, figures))
    finally:
        if postgres is not None:
            postgres.close()
    print()
    print("| code | items | start-up s | start-up RSS MiB | 1,000-new commit s | poll RSS MiB | publish 22 feeds s | steady cycle s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, items, f in table:
        print(f"| {label} | {items:,} | {f.get('load', float('nan')):.2f} | {f.get('load_rss', float('nan')):.0f} "
              f"| {f.get('write', float('nan')):.2f} | {f.get('rss', float('nan')):.0f} "
              f"| {f.get('publish', float('nan')):.3f} | {f.get('steady', float('nan')):.1f} |")


def _measure(items: int, label: str, tree: Path, args: argparse.Namespace, postgres: PostgresCopies | None) -> dict[str, float]:
    results: dict[str, list[float]] = {}
    ours = tree == ROOT

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    if postgres is None:
        cache = cached_store(items, tree, LAYOUT if ours else f"ref-{label}")
        print(f"{label}: {items:,} items, {_du(cache) / 2**20:.0f} MiB on disk (bodies included)", flush=True)
    else:
        template = postgres.template(items)
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-store-run-") as tmp:

            def fresh(phase: str) -> str:
                if postgres is not None:
                    return postgres.copy(template, f"bench_run_{phase}")
                target = Path(tmp) / phase
                target.mkdir()
                return str(copy_store(cache, target))

            loaded = _child(tree, "_load", fresh("load"))
            add("load", loaded["load"])
            add("load_rss", loaded["rss"])
            polled = _child(tree, "_poll", fresh("poll"), str(args.new), f"r{run}")
            add("write", polled["write"])
            add("rss", polled["rss"])
            if ours:
                published = _child(tree, "_publish", fresh("publish"), str(Path(tmp) / "feeds"))
                add("publish", published["publish"])
                if not args.skip_steady:
                    steady = _child(tree, "_steady", fresh("steady"))
                    add("steady", steady["steady"])
        print(f"  {label} {items:,} run {run + 1}: " + ", ".join(f"{k}={v[-1]:.2f}" for k, v in results.items()), flush=True)
    return {key: median(values) for key, values in results.items()}


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "_build":
        build(sys.argv[2], int(sys.argv[3]))
        print("{}")
    elif command == "_load":
        print(json.dumps(child_load(sys.argv[2])))
    elif command == "_poll":
        print(json.dumps(child_poll(*sys.argv[2:5])))
    elif command == "_publish":
        print(json.dumps(child_publish(sys.argv[2], sys.argv[3])))
    elif command == "_steady":
        print(json.dumps(child_steady(sys.argv[2])))
    else:
        main()
