"""Benchmark: the feed server (aiohttp) with a 1,000-entry feed, and with idle clients holding sockets.

    .venv/bin/python -m bench.bench_serve [--requests 2000] [--concurrency 20] [--idle 200]

Publishes one 1,000-entry feed (the maximum feed_entries), starts FeedServer on 127.0.0.1 and
prints, for /all.atom, /all.html and /all.json: the first (cold) response time, which includes
parsing the Atom file and rendering the page, then requests/s and p50/p99 latency for
`--requests` GETs from `--concurrency` concurrent httpx clients, first with no other client and
then with `--idle` sockets connected and silent. Goal: a page or JSON Feed costs no more than a
few ms once cached, and idle clients do not change the latency of the others.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from aggregator.config import load_config
from aggregator.models import StoredItem
from aggregator.publish import FeedSpec, publish
from aggregator.serve import FeedServer
from bench.sites import machine_info


def _items(count: int) -> list[StoredItem]:
    start = datetime(2025, 4, 23, 2, 0, tzinfo=timezone.utc)
    body = "<p>" + "生态环境部通报执法检查情况，责令整改并处罚款。" * 12 + "</p>"
    return [
        StoredItem(
            key=f"k{n}",
            atom_id=f"urn:uuid:00000000-0000-0000-0000-{n:012d}",
            source="mee",
            url=f"https://www.mee.gov.cn/ywdt/t{n}.shtml",
            title=f"关于第{n}起环境违法案件的行政处罚决定",
            published=start - timedelta(minutes=n),
            updated=start - timedelta(minutes=n),
            first_seen=start - timedelta(minutes=n),
            summary_html=body,
            categories=("enforcement",),
        )
        for n in range(count)
    ]


async def _load(port: int, path: str, requests: int, concurrency: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in queue:
            t = time.perf_counter()
            reply = await client.get(f"http://127.0.0.1:{port}{path}")
            assert reply.status_code == 200
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return requests / wall, statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "config.toml").write_text('[settings]\noutput_dir = "feeds"\nfeed_entries = 1000\n', encoding="utf-8")
        config = load_config(directory / "config.toml")
        publish([FeedSpec("all", "All items", "Every item", _items(1000))], config.output_dir, config.settings.base_url, 1000)
        size = (config.output_dir / "all.atom").stat().st_size
        server = FeedServer(get_config=lambda: config, status=lambda: {"sources": []})
        _host, port = await server.start("127.0.0.1", 0)
        print(machine_info())
        print(f"feed: 1,000 entries, {size / 1e6:.2f} MB of Atom")
        try:
            async with httpx.AsyncClient() as client:
                for path in ("/all.atom", "/all.html", "/all.json"):
                    t = time.perf_counter()
                    reply = await client.get(f"http://127.0.0.1:{port}{path}")
                    print(f"{path:<10} cold {1000 * (time.perf_counter() - t):7.1f} ms  ({len(reply.content) / 1e6:.2f} MB)")
            for label, idle in (("no idle clients", 0), (f"{args.idle} idle sockets", args.idle)):
                sockets = [await asyncio.open_connection("127.0.0.1", port) for _ in range(idle)]
                for path in ("/all.atom", "/all.html", "/all.json", "/"):
                    rps, p50, p99 = await _load(port, path, args.requests, args.concurrency)
                    print(f"{label:<18} {path:<10} {rps:7.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
                for _reader, writer in sockets:
                    writer.close()
        finally:
            await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--idle", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
