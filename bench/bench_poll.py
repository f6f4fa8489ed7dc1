"""Benchmark 1: a poll cycle of 1,000 sources against the synthetic sites, and its floor.

    .venv/bin/python -m bench.bench_poll [--runs 3] [--html 800] [--feeds 200]

Per run, on a fresh store: the first cycle (every item new, article pages fetched), then a
steady-state cycle (nothing changed upstream), then the floor: the exact URLs of the first cycle
(taken from the server's log) fetched by a bare httpx.AsyncClient with the same limits (16 at a
time overall, one at a time per host) and no processing. Each cycle runs in its own process so
CPU time and peak RSS are that cycle's alone. Goals: first cycle <= 1.5x the floor's wall time;
steady-state CPU < 10% of the first cycle's.

    .venv/bin/python -m bench.bench_poll --against REF

also runs the first and steady cycles on git revision REF (checked out in a temporary worktree),
alternating with this checkout in every run against the same server, and prints both side by
side: a change measured against the code before it, on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from bench.sites import RunningServer, checkouts, machine_info, median

ROOT = Path(__file__).resolve().parents[1]


def _usage() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # CPU s, peak RSS MiB (Linux: KiB)


def _worker_cpu() -> float:
    """CPU seconds of the parsing workers (children of the forkserver, so not in RUSAGE_CHILDREN)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def child_cycle(config_path: str) -> dict[str, object]:
    """One `poll --once` equivalent, timed from inside (imports excluded, store load included)."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    from aggregator.config import load_config
    from aggregator.fetch import fetcher_for
    from aggregator.pipeline import poll_all, publish_from_store
    from aggregator.infra.workers import start_workers, stop_workers
    from aggregator.store import open_store

    config = load_config(config_path)
    start_workers(config.worker_count())  # as `poll --once` and the daemon do
    cpu0, _ = _usage()
    workers0 = _worker_cpu()
    wall0 = time.perf_counter()
    store = open_store(config.store_path)
    load = time.perf_counter() - wall0

    async def run() -> tuple[list, int]:
        async with fetcher_for(config) as fetcher:
            reports = await poll_all(config, store, fetcher)
            return reports, fetcher.requests_made

    # BENCH_PROFILE=/tmp/poll: where the event loop's time goes, in /tmp/poll-first and /tmp/poll-steady.
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:
        profile_to += "-first" if len(store) == 0 else "-steady"
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    reports, requests = asyncio.run(run())
    if profile_to:
        profiler.disable()
        profiler.dump_stats(profile_to)
    poll_done = time.perf_counter()
    changed = publish_from_store(config, store)
    store.close()
    wall = time.perf_counter() - wall0
    cpu1, rss = _usage()
    worker_cpu = _worker_cpu() - workers0
    stop_workers()
    failures = Counter(r.error_kind.value if r.error_kind else "?" for r in reports if not r.ok)
    return {
        "wall": wall,
        "poll": poll_done - wall0,
        "publish": wall - (poll_done - wall0),
        "load": load,
        "cpu": cpu1 - cpu0 + worker_cpu,
        "loop_cpu": cpu1 - cpu0,
        "worker_cpu": worker_cpu,
        "rss": rss,
        "requests": requests,
        "new": sum(r.new for r in reports),
        "not_modified": sum(r.not_modified for r in reports),
        "failed": dict(failures),
        "first_error": next((r.error for r in reports if not r.ok), None),
        "feeds_written": len(changed),
    }


def child_floor(urls_path: str, concurrency: str) -> dict[str, object]:
    """The same URLs with a bare client: same global and per-host limits, nothing done with the bodies."""
    import httpx

    urls = json.loads(Path(urls_path).read_text())
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[urlsplit(url).netloc].append(url)
    limit = int(concurrency)
    cpu0, _ = _usage()
    wall0 = time.perf_counter()
    fetched = 0

    async def run() -> None:
        nonlocal fetched
        gate = asyncio.Semaphore(limit)
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def host(host_urls: list[str]) -> None:
                nonlocal fetched
                for url in host_urls:
                    async with gate:
                        response = await client.get(url)
                        fetched += len(response.content) > -1

            await asyncio.gather(*(host(u) for u in by_host.values()))

    asyncio.run(run())
    wall = time.perf_counter() - wall0
    cpu1, rss = _usage()
    return {"wall": wall, "cpu": cpu1 - cpu0, "rss": rss, "requests": fetched}


def _run_child(*args: str, tree: Path = ROOT) -> dict[str, object]:
    """A child process running `tree`'s own bench_poll and aggregator (its cwd comes first on sys.path)."""
    env = os.environ | {"PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_poll", *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _server_cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def one_run(server: RunningServer, concurrency: int, trees: dict[str, Path]) -> dict[str, dict[str, dict[str, object]]]:
    """Per checkout: a first and a steady cycle on a fresh store; then the floor, once."""
    results: dict[str, dict[str, dict[str, object]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        for label, tree in trees.items():
            directory = Path(tmp) / label.replace(" ", "-")
            directory.mkdir()
            config = server.config_toml(directory, concurrency=concurrency)
            result: dict[str, dict[str, object]] = {}
            for phase in ("first", "steady"):
                server.control("reset")
                cpu0 = _server_cpu(server.pid)
                result[phase] = _run_child("_cycle", str(config), tree=tree)
                result[phase]["server_cpu"] = _server_cpu(server.pid) - cpu0
                result[phase]["server_requests"] = server.control("stats")["requests"]  # type: ignore[index]
                if phase == "first" and not results:
                    urls_file = Path(tmp) / "urls.json"
                    urls_file.write_text(json.dumps(server.control("log")))
            result["store_bytes"] = {"size": (directory / "store.json").stat().st_size}
            results[label] = result
        server.control("reset")
        cpu0 = _server_cpu(server.pid)
        floor = _run_child("_floor", str(urls_file), str(concurrency))
        floor["server_cpu"] = _server_cpu(server.pid) - cpu0
    for result in results.values():
        result["floor"] = floor
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--html", type=int, default=800)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--per-host", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--against", metavar="REF", help="also run the cycles on this git revision, side by side")
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    print(f"workload: {args.html} HTML list sources + {args.feeds} feeds, {args.per_host} sources per host, "
          f"concurrency {args.concurrency}, {args.runs} runs")
    started = time.perf_counter()
    with checkouts(args.against) as trees, RunningServer(html=args.html, feeds=args.feeds, per_host=args.per_host) as server:
        print(f"server ready in {time.perf_counter() - started:.1f}s (pid {server.pid}, port {server.port})")
        runs = []
        for number in range(args.runs):
            result = one_run(server, args.concurrency, trees)
            runs.append(result)
            for label, by_phase in result.items():
                first, steady, floor = by_phase["first"], by_phase["steady"], by_phase["floor"]
                print(
                    f"run {number + 1} {label}: first {first['wall']:.1f}s wall / {first['cpu']:.1f}s CPU "
                    f"({first['loop_cpu']:.1f}s main process, {first['worker_cpu']:.1f}s parsing workers), "
                    f"steady {steady['wall']:.2f}s / {steady['cpu']:.2f}s CPU, floor {floor['wall']:.1f}s; "
                    f"failed {first['failed']} first error {first['first_error']}",
                    flush=True,
                )
    for label in trees:
        _summary(label, [run[label] for run in runs])


def _summary(label: str, runs: list[dict[str, dict[str, object]]]) -> None:
    def m(phase: str, key: str) -> float:
        return median([float(r[phase][key]) for r in runs])  # type: ignore[index]

    print(f"\n{label}")
    print(f"{'':<14}{'wall s':>8}{'CPU s':>8}{'RSS MiB':>9}{'requests':>10}{'server CPU s':>14}")
    for phase in ("first", "steady", "floor"):
        print(
            f"{phase:<14}{m(phase, 'wall'):>8.2f}{m(phase, 'cpu'):>8.2f}{m(phase, 'rss'):>9.0f}"
            f"{m(phase, 'requests'):>10.0f}{m(phase, 'server_cpu'):>14.2f}"
        )
    print(f"first cycle: {m('first', 'new'):.0f} new items, store load {m('first', 'load'):.2f}s, "
          f"poll {m('first', 'poll'):.1f}s, publish {m('first', 'publish'):.2f}s")
    print(f"steady cycle: {m('steady', 'not_modified'):.0f} not modified, store load {m('steady', 'load'):.2f}s, "
          f"poll {m('steady', 'poll'):.2f}s, publish {m('steady', 'publish'):.2f}s")
    print(f"store file after both cycles: {median([r['store_bytes']['size'] for r in runs]) / 2**20:.1f} MiB")
    # Each run's floor is measured minutes after its first cycle; on a VM whose speed drifts,
    # the ratio within a run is the steadier figure.
    per_run = [float(r["first"]["wall"]) / float(r["floor"]["wall"]) for r in runs]  # type: ignore[index]
    print(f"first cycle / floor per run: {', '.join(f'{x:.2f}x' for x in per_run)}; median {median(per_run):.2f}x")
    ratio = m("first", "wall") / m("floor", "wall")
    steady_share = m("steady", "cpu") / m("first", "cpu")
    print(f"first cycle / floor (medians of wall): {ratio:.2f}x   goal <= 1.5x   {'MET' if ratio <= 1.5 else 'NOT MET'}")
    print(f"steady CPU / first CPU: {steady_share:.1%}   goal < 10%   {'MET' if steady_share < 0.10 else 'NOT MET'}")
    floor_server = m("floor", "server_cpu") / m("floor", "wall")
    print(f"server busy during the floor: {floor_server:.0%} of one core (it is not the bottleneck if well below 100%)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_cycle":
        print(json.dumps(child_cycle(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "_floor":
        print(json.dumps(child_floor(sys.argv[2], sys.argv[3])))
    else:
        sys.exit(main())
