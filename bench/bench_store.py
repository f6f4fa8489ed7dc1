"""Benchmark 2: the store at 100,000 items.

    .venv/bin/python -m bench.bench_store [--items 100000] [--new 1000] [--runs 3]

Builds (once, cached under $TMPDIR/bench-store-<items>) a store of 100,000 realistic items from
1,000 sources (CJK titles, 2-4k-character bodies in blobs, two of 20 categories each); the
publish benchmark reads the same store. Then, per run,
in fresh processes so peak RSS is the phase's own:
- load: open the store as the daemon does at start-up;
- poll: a poll bringing 1,000 new items as the pipeline does it (50 sources x 20 new items, each
  source: apply, prune, set_state, commit), and the same 1,000 items in a single apply+commit;
- steady: the store work of a steady-state cycle of all 1,000 sources (nothing new: set_state and
  commit per source, as `poll_source` does), which shows what a per-source commit costs at scale.
Goals: write (the 1,000-new poll) < 1 s, start-up load < 3 s, peak RSS < 300 MB.
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

from bench.sites import _PHRASES, machine_info, median

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


def build(directory: Path, total: int) -> None:
    from aggregator.store import SourceState, Store, open_store

    directory.mkdir(parents=True, exist_ok=True)
    per_source = total // SOURCES
    paragraphs = _paragraphs()
    with open_store(directory / "store.json") as store:
        for index in range(SOURCES):
            store.apply(f"src-{index:04d}", make_items(index, range(per_source), paragraphs=paragraphs), NOW)
            store.set_state(f"src-{index:04d}", SourceState(etag='"abc"', last_success=NOW.isoformat(), max_items_seen=20))
            if index % 10 == 9:
                store.commit()  # as a daemon's lazy commits would: bodies go to one pack per source
        store.commit()


def _timed_store_open(path: Path) -> tuple[object, float]:
    from aggregator.store import Store, open_store

    start = time.perf_counter()
    store = open_store(path)
    return store, time.perf_counter() - start


def child_load(path: str) -> dict[str, float]:
    store, seconds = _timed_store_open(Path(path))
    items = len(store)  # type: ignore[arg-type]
    store._release_lock()  # type: ignore[attr-defined]  # close() would commit; nothing to write
    return {"load": seconds, "rss": _rss_mib(), "items": items}


def child_poll(path: str, new: str, salt: str, mode: str) -> dict[str, float]:
    from aggregator.store import Store, open_store

    count = int(new)
    store, load = _timed_store_open(Path(path))
    assert isinstance(store, Store)
    paragraphs = _paragraphs()
    per_source = 20
    batches = [
        (index, make_items(index, range(10_000, 10_000 + per_source), salt=salt, paragraphs=paragraphs))
        for index in range(0, count // per_source)
    ]
    start = time.perf_counter()
    commits = 0
    if mode == "pipeline":
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
    else:
        for index, items in batches:
            store.apply(f"src-{index:04d}", items, NOW)
        commits += store.commit()
    seconds = time.perf_counter() - start
    size = Path(path).stat().st_size
    store._release_lock()  # type: ignore[attr-defined]
    return {"write": seconds, "commits": commits, "load": load, "rss": _rss_mib(), "size": size, "items": len(store)}


def child_steady(path: str) -> dict[str, float]:
    from aggregator.store import Store, open_store

    store, _load = _timed_store_open(Path(path))
    assert isinstance(store, Store)
    start = time.perf_counter()
    cpu0 = time.process_time()
    for index in range(SOURCES):
        # A not-modified poll: only the source's state changes, and poll_source commits.
        name = f"src-{index:04d}"
        state = store.state(name)
        state.last_attempt = (NOW + timedelta(minutes=30)).isoformat()
        store.set_state(name, state)
        store.commit(lazy=True)  # as poll_source does
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    store._release_lock()  # type: ignore[attr-defined]
    return {"steady": seconds, "steady_cpu": cpu, "rss": _rss_mib()}


def _child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.bench_store", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def cached_store(items: int) -> Path:
    """The directory of a built store of `items` items, building it the first time."""
    cache = Path(tempfile.gettempdir()) / f"bench-store-{items}-v6"
    if not (cache / "store.json").exists():
        print(f"building a {items:,}-item store in {cache} (once) ...", flush=True)
        start = time.perf_counter()
        shutil.rmtree(cache, ignore_errors=True)
        _child("_build", str(cache), str(items))
        print(f"  built in {time.perf_counter() - start:.0f}s", flush=True)
    return cache


def _du(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-steady", action="store_true", help="skip the 1,000-commit steady-state cycle")
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    cache = cached_store(args.items)
    size = (cache / "store.json").stat().st_size
    blobs = _du(cache / "store.json.blobs")
    print(f"store: {args.items:,} items, store.json {size / 2**20:.1f} MiB, blobs {blobs / 2**20:.0f} MiB")

    results: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-store-run-") as tmp:
            path = Path(tmp) / "store.json"
            shutil.copy2(cache / "store.json", path)
            # Blobs are content-addressed and immutable: share them instead of copying a GB per run.
            os.symlink(cache / "store.json.blobs", Path(tmp) / "store.json.blobs")
            loaded = _child("_load", str(path))
            add("load", loaded["load"])
            add("load_rss", loaded["rss"])
            for mode in ("pipeline", "single"):
                shutil.copy2(cache / "store.json", path)
                polled = _child("_poll", str(path), str(args.new), f"r{run}{mode[0]}", mode)
                add(f"write_{mode}", polled["write"])
                add(f"commits_{mode}", polled["commits"])
                add(f"rss_{mode}", polled["rss"])
                add("size_after", polled["size"])
            if not args.skip_steady:
                steady = _child("_steady", str(path))
                add("steady", steady["steady"])
                add("steady_cpu", steady["steady_cpu"])
        print(f"run {run + 1}: " + ", ".join(f"{k}={v[-1]:.2f}" for k, v in results.items()), flush=True)

    def m(key: str) -> float:
        return median(results[key])

    print()
    print(f"start-up load of {args.items:,} items: {m('load'):.2f}s (goal < 3 s), peak RSS {m('load_rss'):.0f} MiB")
    print(
        f"poll bringing {args.new:,} new items, as the pipeline does it ({m('commits_pipeline'):.0f} commits): "
        f"{m('write_pipeline'):.2f}s (goal < 1 s), peak RSS {m('rss_pipeline'):.0f} MiB (goal < 300 MB)"
    )
    print(f"the same {args.new:,} items in one apply+commit: {m('write_single'):.2f}s, peak RSS {m('rss_single'):.0f} MiB")
    print(f"store.json after the poll: {m('size_after') / 2**20:.1f} MiB (+ blobs {blobs / 2**20:.0f} MiB)")
    if "steady" in results:
        print(
            f"steady-state cycle of {SOURCES} not-modified sources, store work only (commit per source): "
            f"{m('steady'):.1f}s wall, {m('steady_cpu'):.1f}s CPU"
        )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "_build":
        build(Path(sys.argv[2]), int(sys.argv[3]))
        print("{}")
    elif command == "_load":
        print(json.dumps(child_load(sys.argv[2])))
    elif command == "_poll":
        print(json.dumps(child_poll(*sys.argv[2:6])))
    elif command == "_steady":
        print(json.dumps(child_steady(sys.argv[2])))
    else:
        main()
