"""Benchmark 7: a polite first poll of a slow site, poll after poll until every row is stored.

    .venv/bin/python -m bench.bench_slow_site [--polls 6] [--rows 80] [--article-delay 0.4] [--host-delay 0.5] [--timeout 5]

One TRS column (bench/sites.py's TRS list and article pages) with `backfill_pages`: a list of 20
rows and older pages `index_1.shtml` ... holding `--rows` rows in all. Its article pages answer
after `--article-delay` seconds (list pages at once), and the config is polite, scaled down from
the example's (`host_delay = "2s"`, `timeout = 30`): `host_delay = 0.5`, `timeout = 5`. Before
issue 23 a poll's time limit was `timeout` x 4 + 30 s = 50 s whatever the politeness; with the
fetcher's spacing counted from the end of each answer every article costs 0.9 s, so a first poll's
60 article pages (its cap) take 54 s and the old code's first poll is cut off with nothing stored.

Each poll is `aggregator poll --once CONFIG` (run in-process in a child, one child per poll, with
the checkout's own PYTHONPATH), polls back to back, until every row is stored or `--polls` have
run. Per poll: what it stored, its report line, the article pages it asked for, and when the
daemon would poll next (`schedule_policy.next_run` on the stored state: a minute after a poll that
left rows unread, back-off after a failure), which gives the daemon's time to converge.

    .venv/bin/python -m bench.bench_slow_site --against REF

also runs the same polls on git revision REF (a temporary worktree), on a fresh server and store,
and prints both side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from bench.sites import RunningServer

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "slow-trs"
COLUMN = 1200
LIST_PATH = f"/xwzx/c{COLUMN}/index.shtml"
INTERVAL = 1800.0  # the source's interval (30m), for next_run


# -- the site (a child process; needs this checkout's bench package) ---------------------------


def _column_pages(rows: int) -> tuple[dict[str, bytes], set[str]]:
    """Every page of one TRS column of `rows` rows, 20 a page: {path: body}, and the article paths."""
    from bench.sites import ITEMS_PER_LIST, SiteSet, SourceSpec

    class Column(SiteSet):
        page_number = 0

        def _item_ids(self, spec: SourceSpec) -> list[int]:  # the rows of one list page, newest first
            top = rows - 1 - self.page_number * ITEMS_PER_LIST
            return list(range(top, max(top - ITEMS_PER_LIST, -1), -1))

    spec = SourceSpec(SOURCE, "127.0.0.1", LIST_PATH, "trs", "utf-8", COLUMN, False)
    sites = Column(html_sources=0, feed_sources=0)
    sites.generation = max(0, rows - ITEMS_PER_LIST)  # item dates count back from the newest (today)
    pages = -(-rows // ITEMS_PER_LIST)
    out: dict[str, bytes] = {}
    for number in range(pages):
        sites.page_number = number
        # The pager as TRS writes it with the page count in the call, which is what backfill reads.
        pager = f'createPageHTML({pages}, {number}, "index", "shtml")'.encode()
        body = sites._list_page(spec).body.replace(b'createPageHTML(countPage, 0, "index", "shtml")', pager)
        out[LIST_PATH if number == 0 else LIST_PATH.replace("index.", f"index_{number}.")] = body
    articles = set()
    for n in range(rows):
        path = sites._article_path(spec, n)
        out[path] = sites._article_page(spec, n).body
        articles.add(path)
    return out, articles


def serve_main(argv: list[str]) -> None:
    from aiohttp import web

    parser = argparse.ArgumentParser(prog="bench.bench_slow_site _serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--article-delay", type=float, required=True)
    args = parser.parse_args(argv)
    pages, articles = _column_pages(args.rows)
    log: list[str] = []

    async def page(request: web.Request) -> web.Response:
        path = request.path
        if path == "/__log":
            return web.json_response(log)
        if path == "/__reset":
            log.clear()
            return web.json_response({"ok": True})
        log.append(path)
        body = pages.get(path)
        if body is None:
            return web.Response(status=404, text="not found")
        if path in articles:
            await asyncio.sleep(args.article_delay)  # a slow CMS: every article page is rendered on demand
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def run() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        print(f"READY {args.port} {len(articles)}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(run())


class SlowSite(RunningServer):
    """The slow column in a child process; `with SlowSite(rows, delay) as site:`."""

    def __init__(self, rows: int, article_delay: float) -> None:
        self.rows, self.article_delay = rows, article_delay
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "bench.bench_slow_site", "_serve", "--port", str(port),
                "--rows", str(self.rows), "--article-delay", str(self.article_delay)]

    def control(self, name: str) -> object:
        import httpx

        response = httpx.post(f"http://127.0.0.1:{self.port}/__{name}", timeout=30)
        response.raise_for_status()
        return response.json()

    def config(self, directory: Path, *, host_delay: float, timeout: float) -> Path:
        backfill = -(-self.rows // 20) - 1
        text = f"""[settings]
store = "store.json"
output_dir = "feeds"
host_delay = {host_delay}
timeout = {timeout:g}
default_interval = "30m"
[serve]
enabled = false
[categories.news]
title = "news"
[[sources]]
name = "{SOURCE}"
preset = "trs"
url = "http://127.0.0.1:{self.port}{LIST_PATH}"
backfill_pages = {backfill}
categories = ["news"]
"""
        path = directory / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path


# -- one poll (a child process with the checkout's PYTHONPATH; imports only `aggregator`) --------


def child_poll(config_path: str) -> dict[str, object]:
    """`aggregator poll --once CONFIG`, then what the store holds and when the daemon would poll next."""
    from aggregator.cli import main
    from aggregator.config import load_config
    from aggregator.models import parse_iso
    try:
        from aggregator.schedule_policy import next_run
    except ImportError:  # the code before issue 23 kept it in the scheduler
        from aggregator.scheduler import next_run  # type: ignore[no-redef]
    from aggregator.store import open_store

    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["--log-level", "ERROR", "poll", "--once", config_path])
    wall = time.perf_counter() - started
    config = load_config(config_path)
    with open_store(config.store_location) as store:
        stored = len(store)
        state = store.state(SOURCE)
        due = next_run(state, INTERVAL, datetime.now(timezone.utc), random.Random(1))
        last = parse_iso(state.last_attempt)
        wait = (due - last).total_seconds() if due and last else None
    line = next((ln for ln in out.getvalue().splitlines() if SOURCE in ln), "")
    return {"exit": code, "wall": wall, "stored": stored, "failures": state.consecutive_failures,
            "next_after": wait, "line": line.strip()}


def _run_poll(config: Path, tree: Path) -> dict[str, object]:
    # The script itself from this checkout; `aggregator` from `tree` only (PYTHONPATH beats the venv's
    # editable install; the script's own folder, bench/, holds no `aggregator`).
    env = os.environ | {"PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_poll", str(config)],
        cwd=tree, env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"poll child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the benchmark -------------------------------------------------------------------------------


def run_side(label: str, tree: Path, args: argparse.Namespace) -> dict[str, object]:
    """Fresh site and store; polls until every row is stored or `args.polls` have run."""
    polls: list[dict[str, object]] = []
    article_hits: Counter[str] = Counter()
    with SlowSite(args.rows, args.article_delay) as site, tempfile.TemporaryDirectory(prefix="bench-slow-") as tmp:
        config = site.config(Path(tmp), host_delay=args.host_delay, timeout=args.timeout)
        started = time.perf_counter()
        for number in range(1, args.polls + 1):
            site.control("reset")
            result = _run_poll(config, tree)
            log: list[str] = site.control("log")  # type: ignore[assignment]
            requested = [p for p in log if p.startswith(f"/xwzx/c{COLUMN}/2")]
            article_hits.update(requested)
            result["article_requests"] = len(requested)
            polls.append(result)
            after = result["next_after"]
            print(
                f"{label} poll {number}: {result['wall']:.1f}s, {len(requested)} article pages asked for "
                f"({len(log) - len(requested)} other requests), "
                f"{result['stored']}/{args.rows} stored, exit {result['exit']}, "
                f"daemon's next poll {'-' if after is None else f'{after:.0f}s'} later | {result['line']}",
                flush=True,
            )
            if result["stored"] >= args.rows:
                break
        wall = time.perf_counter() - started
    return {"polls": polls, "hits": article_hits, "wall": wall}


def _summary(label: str, side: dict[str, object], rows: int) -> list[str]:
    polls: list[dict[str, object]] = side["polls"]  # type: ignore[assignment]
    hits: Counter[str] = side["hits"]  # type: ignore[assignment]
    stored = int(polls[-1]["stored"])  # type: ignore[arg-type]
    done = stored >= rows
    needed = f"{len(polls)}" if done else f"never ({stored}/{rows} after {len(polls)})"
    failed = sum(1 for p in polls if p["exit"] != 0)
    requests = sum(hits.values())
    wasted = requests - sum(1 for _ in hits)
    # The daemon: each poll starts when next_run says, i.e. the waits between polls plus the last poll.
    waits = [float(p["next_after"] or 0) for p in polls[:-1]]  # type: ignore[arg-type]
    daemon = sum(waits) + float(polls[-1]["wall"])  # type: ignore[arg-type]
    daemon_text = f"{daemon / 60:.1f} min" if done else f"not done after {daemon / 3600:.1f} h"
    return [
        label,
        needed,
        " / ".join(str(p["stored"]) for p in polls),
        f"{failed} of {len(polls)}",
        f"{requests} for {len(hits)} ({wasted} again)",
        f"{sum(float(p['wall']) for p in polls):.0f} s",  # type: ignore[arg-type]
        daemon_text,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polls", type=int, default=6, help="stop after this many polls (default 6)")
    parser.add_argument("--rows", type=int, default=80, help="rows in the column, 20 a page (default 80)")
    parser.add_argument("--article-delay", type=float, default=0.4, help="seconds an article page takes (0.4)")
    parser.add_argument("--host-delay", type=float, default=0.5, help="the config's host_delay (0.5)")
    parser.add_argument("--timeout", type=float, default=5, help="the config's timeout (5)")
    parser.add_argument("--against", metavar="REF", help="also run the polls on this git revision, side by side")
    args = parser.parse_args()
    from bench.sites import checkouts, machine_info

    print(f"machine: {machine_info()}")
    print(f"workload: one TRS column, {args.rows} rows ({-(-args.rows // 20)} list pages), article pages "
          f"{args.article_delay:g}s each, host_delay {args.host_delay:g}s, timeout {args.timeout:g}s, "
          f"up to {args.polls} polls back to back")
    results = []
    with checkouts(args.against) as trees:
        for label, tree in trees.items():
            results.append(_summary(label, run_side(label, tree, args), args.rows))
    head = ["code", "polls to store every row", "stored after each poll", "failed polls",
            "article requests", "poll time", "daemon's time to converge"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in results:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_poll":
        print(json.dumps(child_poll(sys.argv[2])))
    elif len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve_main(sys.argv[2:])
    else:
        sys.exit(main())
