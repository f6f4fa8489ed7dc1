"""Benchmark 3: publish 20 category feeds of 100 entries (plus `all`) from a 100,000-item store.

    .venv/bin/python -m bench.bench_publish [--items 100000] [--runs 5]

Uses the store built by bench_store (20 categories, two per item). Times, in one process after the
store is loaded (load time printed apart):
- cold: publish into an empty output directory (every file written);
- unchanged: publish again with nothing changed (every file rendered and compared, none written);
- one-category change: one item of one category edited, then publish (which files are rewritten).
Also printed: the one-time re-sort of every item that follows a change of categories or rules.
Goal: publish < 0.5 s; only feeds whose items changed are rewritten.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.bench_store import CATEGORIES, NOW, cached_store, copy_store
from bench.sites import machine_info, median

ROOT = Path(__file__).resolve().parents[1]


def _config(directory: Path) -> Path:
    lines = ["[settings]", 'store = "store.json"', 'output_dir = "feeds"', "feed_entries = 100", "[serve]", "enabled = false"]
    for slug in CATEGORIES:
        lines += [f"[categories.{slug}]", f'title = "{slug}"']
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def child(directory: str) -> dict[str, object]:
    from aggregator.config import load_config
    from aggregator.classify import reclassify_if_needed
    from aggregator.pipeline import publish_from_store
    from aggregator.store import open_store

    config = load_config(_config(Path(directory)))
    start = time.perf_counter()
    store = open_store(config.store_path)
    load = time.perf_counter() - start
    out: dict[str, object] = {"load": load}

    # The bench store carries no classification fingerprint: the first publish would re-sort
    # every item (once, as after a rule change). Timed apart so `cold` is publishing alone.
    start = time.perf_counter()
    reclassify_if_needed(config, store)
    out["resort"] = time.perf_counter() - start

    start = time.perf_counter()
    written = publish_from_store(config, store)
    out["cold"], out["cold_files"] = time.perf_counter() - start, len(written)

    start = time.perf_counter()
    written = publish_from_store(config, store)
    out["unchanged"], out["unchanged_files"] = time.perf_counter() - start, len(written)

    # Edit the newest item: `all` and its two category feeds should change, no others.
    newest = store.newest({"all": 1})["all"][0]
    from aggregator.models import Item

    edited = Item(
        key=newest.key, source=newest.source, url=newest.url, title=newest.title + "（更新）",
        published=newest.published, updated=NOW + timedelta(hours=1), content_html="<p>更新</p>",
        content_hash="edited".ljust(64, "0"), categories=newest.categories,
    )
    store.apply(newest.source, [edited], NOW + timedelta(hours=1))
    start = time.perf_counter()
    written = publish_from_store(config, store)
    out["changed"] = time.perf_counter() - start
    out["changed_files"] = sorted(p.name for p in written)
    out["expected_files"] = sorted({"all.atom", *(f"{c}.atom" for c in newest.categories)})
    out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.abandon()  # leave the shared store files as they were
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    cache = cached_store(args.items)
    results: list[dict[str, object]] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
            copy_store(cache, Path(tmp))
            proc = subprocess.run([sys.executable, "-m", "bench.bench_publish", "_child", tmp], cwd=ROOT, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError(proc.stderr[-3000:])
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"run {run + 1}: cold {result['cold']:.2f}s, unchanged {result['unchanged']:.2f}s, "
                  f"one change {result['changed']:.2f}s -> {result['changed_files']}", flush=True)

    def m(key: str) -> float:
        return median([float(r[key]) for r in results])  # type: ignore[arg-type]

    print()
    print(f"store load: {m('load'):.2f}s; peak RSS {m('rss'):.0f} MiB")
    print(f"re-sort of every item after a category/rule change (once, not per publish): {m('resort'):.2f}s")
    for key, label in (("cold", "cold (all 22 files written)"), ("unchanged", "nothing changed"), ("changed", "one item edited")):
        value = m(key)
        print(f"publish, {label:<28} {value:.3f}s   goal < 0.5 s   {'MET' if value < 0.5 else 'NOT MET'}")
    last = results[-1]
    only_changed = last["changed_files"] == last["expected_files"] and m("unchanged_files") == 0
    print(f"files rewritten after one edit: {last['changed_files']} (expected {last['expected_files']}) "
          f"-> only changed feeds rewritten: {'yes' if only_changed else 'NO'}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        print(json.dumps(child(sys.argv[2])))
    else:
        main()
