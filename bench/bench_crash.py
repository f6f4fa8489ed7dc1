"""Benchmark 5: SIGKILL `aggregator poll --once` at random points, many times, and check the damage.

    .venv/bin/python -m bench.bench_crash [--kills 60] [--html 40] [--feeds 10] [--seed 1]
        [--backend tinydb|postgresql]

Before each round the synthetic sites gain one new item per source, so every run has news to
fetch, store and publish. The poller runs as a real subprocess and is killed with SIGKILL after a
random delay spread over a whole run (start-up, fetching, commits, publishing). After every round:
the store opens; no item committed before is missing; no key is stored twice; every file in the
feeds directory (temp files aside) parses as complete XML. Prints the counts and any violation.
With `--backend postgresql` the store is a database on a throwaway server (fsync on, as deployed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from bench.sites import RunningServer, machine_info

ROOT = Path(__file__).resolve().parents[1]


def _run_poll(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", "poll", "--once", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _check(directory: Path, committed: set[str], location: str) -> tuple[set[str], list[str]]:
    from aggregator.store import open_store

    problems: list[str] = []
    feeds = directory / "feeds"
    if feeds.exists():
        for path in feeds.iterdir():
            if path.name.startswith("."):
                continue  # the killed writer's temp file; the next writer removes or replaces it
            try:
                etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError as exc:
                problems.append(f"{path.name}: not complete XML ({exc})")
    try:
        with open_store(location) as store:
            keys = [item.key for item in store.items()]
    except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
        return committed, [*problems, f"store does not open: {exc}"]
    if len(keys) != len(set(keys)):
        problems.append(f"{len(keys) - len(set(keys))} duplicated keys")
    lost = committed - set(keys)
    if lost:
        problems.append(f"{len(lost)} committed items lost")
    return set(keys), problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--html", type=int, default=40)
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("tinydb", "postgresql"), default="tinydb")
    args = parser.parse_args()
    print(f"machine: {machine_info()}; backend: {args.backend}")
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(_database()) if args.backend == "postgresql" else None
        _crash_rounds(args, database)


@contextlib.contextmanager
def _database() -> Iterator[str]:
    """A fresh database on a throwaway PostgreSQL server (fsync on, as deployed)."""
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries not found: apt-get install postgresql")
    server = PgServer(bindir)
    try:
        server.start(durable=True)
        yield server.url(server.create_database())
    finally:
        server.destroy()


def _crash_rounds(args: argparse.Namespace, database: str | None) -> None:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with RunningServer(html=args.html, feeds=args.feeds) as server, tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        directory = Path(tmp)
        config = server.config_toml(directory)
        location = str(directory / "store.json")
        if database is not None:
            location = database
            config.write_text(config.read_text(encoding="utf-8").replace('store = "store.json"', f'store = "{database}"'),
                              encoding="utf-8")
        # One clean run to learn how long a run takes, so kill points cover all of it.
        t0 = time.perf_counter()
        _run_poll(config).wait()
        clean = time.perf_counter() - t0
        committed, problems = _check(directory, set(), location)
        print(f"clean run: {clean:.1f}s, {len(committed)} items")
        kills = rounds = finished = 0
        violations: list[str] = []
        while kills < args.kills:
            rounds += 1
            server.control("advance")
            proc = _run_poll(config)
            delay = rng.uniform(0.05, clean * 1.1)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.005)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            else:
                finished += 1
            proc.wait()
            committed, problems = _check(directory, committed, location)
            violations += [f"round {rounds} (killed after {delay:.2f}s): {p}" for p in problems]
        # A clean run at the end must succeed and publish.
        final = _run_poll(config).wait()
        committed, problems = _check(directory, committed, location)
        violations += [f"final run: {p}" for p in problems]
    print(f"{rounds} rounds, {kills} SIGKILLs, {finished} runs finished before their kill point; "
          f"final clean run exit {final}; {len(committed)} items in the store; {time.perf_counter() - started:.0f}s")
    if violations:
        print(f"{len(violations)} VIOLATIONS:")
        for line in violations:
            print("  " + line)
    else:
        print("no violations: the store always opened, nothing committed was lost or duplicated, feeds were always complete XML")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
