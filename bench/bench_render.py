"""Benchmark: rendered list pages per second and the browser's peak memory (`render = true`).

    .venv/bin/python -m bench.bench_render [--pages 40] [--concurrency 2] [--runs 3]

Serves script-built column pages (20 rows written by a script after load, ~30 kB of gov-page
boilerplate, images, a web font and a video that the browser must not fetch) from loopback, each
column on its own address (127.0.0.2 ...) so the per-host limit does not serialise the run, with
`host_delay = 0`. Renders them through aggregator.infra.browser.Browser with `render_concurrency`
pages at once, in two modes: `wait_for` the item selector (what a configured source does) and
waiting for the network to settle (no `wait_for`: Chromium's "networkidle" needs 500 ms without
a request, so each page costs at least that). Memory is the resident set of the browser and all
its processes, sampled every 100 ms (as PSS: shared pages counted once). Goals: a rendered page in < 2 s on loopback; browser memory
< 400 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from aggregator.infra.browser import Browser
from aggregator.config import ListSelectors
from aggregator.extract.html_list import extract_list
from aggregator.fetch import Fetcher
from bench.sites import machine_info

ROWS = 20
BOILERPLATE = "".join(
    f'<li class="nav"><a href="/col/{n}/">栏目导航{n}</a><img src="/img/icon{n}.png"></li>' for n in range(60)
) + "<p class='footer'>" + "主办单位：某省生态环境厅　地址：某市某区某路1号　电话：0000-0000000　" * 60 + "</p>"


def page(column: int) -> bytes:
    rows = ",".join(f'["/art/{column}/{i}.html","第{column}栏目 生态环境执法通报第{i}期","2026-11-{1 + i % 28:02d}"]' for i in range(ROWS))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>栏目{column}</title>
<style>@font-face {{ font-family: Brand; src: url(/font/brand.woff2); }} body {{ font-family: Brand; }}</style>
</head><body><ul class="menu">{BOILERPLATE}</ul><img src="/img/banner.jpg"><video src="/media/intro.mp4" autoplay muted></video>
<ul id="list"></ul>
<script>
var rows = [{rows}];
var ul = document.getElementById("list");
rows.forEach(function (r) {{
  var li = document.createElement("li");
  li.innerHTML = '<a href="' + r[0] + '">' + r[1] + '</a><span class="date">' + r[2] + '</span>';
  ul.appendChild(li);
}});
</script></body></html>""".encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    heavy = 0  # image/font/media requests that reached the server (must stay 0)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith(("/img/", "/font/", "/media/")):
            Handler.heavy += 1
        if self.path.startswith("/col/"):
            body, status = page(int(self.path.split("/")[2])), 200
        else:
            body, status = b"", 404
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


async def run(pages: int, concurrency: int, hosts: list[str], wait_for: str | None) -> dict[str, float]:
    fetcher = Fetcher(user_agent="bench", host_delay=0)
    browser = Browser(concurrency=concurrency, timeout=30)
    fetcher.browser = browser
    peak = 0
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, browser.memory())
            await asyncio.sleep(0.1)

    zone = ZoneInfo("Asia/Shanghai")
    now = datetime.now(timezone.utc)
    selectors = ListSelectors(item="#list li", date=".date")
    sampler = asyncio.create_task(sample())
    try:
        started = time.monotonic()
        first = await browser.render(f"{hosts[0]}/col/0/", fetcher, wait_for=wait_for)  # includes the browser's start
        cold = time.monotonic() - started
        seconds: list[float] = []

        async def one(n: int) -> None:
            rendered = await browser.render(f"{hosts[n % len(hosts)]}/col/{n}/", fetcher, wait_for=wait_for)
            found = extract_list(rendered.result.body.decode(), rendered.result.url, selectors, tz=zone, now=now).items
            assert len(found) == ROWS, f"{rendered.result.url}: {len(found)} rows"
            seconds.append(rendered.seconds)

        started = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(1, pages + 1)))
        wall = time.monotonic() - started
        assert len(extract_list(first.result.body.decode(), first.result.url, selectors, tz=zone, now=now).items) == ROWS
    finally:
        stop.set()
        await sampler
        await fetcher.aclose()
    seconds.sort()
    return {
        "cold": cold,
        "rate": pages / wall,
        "median": statistics.median(seconds),
        "p95": seconds[int(len(seconds) * 0.95) - 1],
        "max": seconds[-1],
        "peak_mb": peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=8)
    args = parser.parse_args()
    servers = []
    hosts = []
    for n in range(args.hosts):
        server = ThreadingHTTPServer((f"127.0.0.{n + 2}", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        hosts.append(f"http://127.0.0.{n + 2}:{server.server_address[1]}")
    print(machine_info())
    print(f"{args.pages} script-built list pages of {ROWS} rows, {args.hosts} hosts, render_concurrency = {args.concurrency}")
    for label, wait_for in (("wait_for = '#list li'", "#list li"), ("network settles (no wait_for)", None)):
        results = [asyncio.run(run(args.pages, args.concurrency, hosts, wait_for)) for _ in range(args.runs)]
        med = {key: statistics.median(r[key] for r in results) for key in results[0]}
        print(
            f"{label:<32} {med['rate']:.1f} pages/s; per page median {med['median']:.2f} s, p95 {med['p95']:.2f} s,"
            f" max {med['max']:.2f} s; first page with the browser's start {med['cold']:.2f} s;"
            f" browser peak memory {med['peak_mb']:.0f} MiB (median of {args.runs} runs;"
            f" peak over runs {max(r['peak_mb'] for r in results):.0f} MiB)"
        )
    print(f"image/font/media requests that reached the server: {Handler.heavy}")
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
