"""Benchmark 4: the same poll workload done the straightforward way, side by side with ours.

    .venv/bin/python -m bench.bench_baseline [--html 50] [--feeds 13] [--runs 3]

The straightforward design: one request at a time with a sync httpx.Client, BeautifulSoup
(html.parser) for lists and articles, feedparser for feeds, and stock TinyDB (JSONStorage, no
caching) with one `insert` per item, which rewrites the whole JSON file each time. It is quadratic
in items, so the default workload is scaled down from 1,000 sources to 63 (same 4:1 mix of HTML
lists and feeds, 20 items each, article pages fetched for new HTML items); our pipeline runs the
identical workload on the same server for the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_poll import _run_child
from bench.sites import RunningServer, machine_info, median

ROOT = Path(__file__).resolve().parents[1]


def child_baseline(urls_file: str, db_path: str) -> dict[str, float]:
    import re
    from urllib.parse import urljoin

    import feedparser
    import httpx
    from bs4 import BeautifulSoup
    from tinydb import Query, TinyDB

    sources = json.loads(Path(urls_file).read_text())
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    db = TinyDB(db_path, ensure_ascii=False)
    seen = Query()
    requests = inserted = 0
    with httpx.Client(timeout=30) as client:
        for source in sources:
            response = client.get(source["url"])
            requests += 1
            if source["feed"]:
                for entry in feedparser.parse(response.content).entries:
                    if not db.search(seen.url == entry.link):
                        db.insert({"url": entry.link, "title": entry.title, "published": entry.get("published"), "summary": entry.get("summary")})
                        inserted += 1
                continue
            html = response.content.decode(response.encoding or "utf-8", "replace")
            # Hanweb keeps its list in CDATA records inside a <script type="text/xml">: unwrap both,
            # as a simple scraper would (html.parser treats script content as text).
            html = re.sub(r"<!\[CDATA\[(.*?)\]\]>", r"\1", html, flags=re.S)
            html = re.sub(r'<script type="text/xml">(.*?)</script>', r"\1", html, flags=re.S)
            soup = BeautifulSoup(html, "html.parser")
            for li in soup.select("recordset li, ul.list li"):
                link = li.find("a")
                if link is None:
                    continue
                url = urljoin(source["url"], link["href"])
                if db.search(seen.url == url):
                    continue
                article = client.get(url)
                requests += 1
                page = BeautifulSoup(article.content.decode(article.encoding or "utf-8", "replace"), "html.parser")
                body = page.select_one("#zoom, .TRS_Editor")
                date = li.find("span")
                db.insert({
                    "url": url,
                    "title": link.get_text(strip=True),
                    "published": date.get_text(strip=True) if date else None,
                    "content": str(body) if body else None,
                })
                inserted += 1
    db.close()
    return {
        "wall": time.perf_counter() - wall0,
        "cpu": time.process_time() - cpu0,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "requests": requests,
        "new": inserted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=int, default=50)
    parser.add_argument("--feeds", type=int, default=13)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    print(f"workload: {args.html} HTML lists + {args.feeds} feeds, 20 items each, first cycle (all new)")
    ours: list[dict] = []
    base: list[dict] = []
    with RunningServer(html=args.html, feeds=args.feeds) as server:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
                config = server.config_toml(Path(tmp))
                ours.append(_run_child("_cycle", str(config)))
                urls = [{"url": s.url(server.port), "feed": s.is_feed} for s in server.sites.sources]
                (Path(tmp) / "sources.json").write_text(json.dumps(urls))
                out = subprocess.run(
                    [sys.executable, "-m", "bench.bench_baseline", "_child", str(Path(tmp) / "sources.json"), str(Path(tmp) / "db.json")],
                    cwd=ROOT, capture_output=True, text=True,
                )
                if out.returncode:
                    raise RuntimeError(out.stderr[-3000:])
                base.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"run {run + 1}: ours {ours[-1]['wall']:.1f}s ({ours[-1]['new']} new), "
                  f"baseline {base[-1]['wall']:.1f}s ({base[-1]['new']} new)", flush=True)

    def m(rows: list[dict], key: str) -> float:
        return median([float(r[key]) for r in rows])

    print()
    print(f"{'':<12}{'wall s':>8}{'CPU s':>8}{'RSS MiB':>9}{'requests':>10}{'items':>7}")
    for name, rows in (("ours", ours), ("baseline", base)):
        print(f"{name:<12}{m(rows, 'wall'):>8.2f}{m(rows, 'cpu'):>8.2f}{m(rows, 'rss'):>9.0f}{m(rows, 'requests'):>10.0f}{m(rows, 'new'):>7.0f}")
    print(f"baseline / ours (wall): {m(base, 'wall') / m(ours, 'wall'):.1f}x;  (CPU): {m(base, 'cpu') / m(ours, 'cpu'):.1f}x")
    print("note: the baseline does far less per item (no sanitising, dates, dedup of reposts, atomic writes, feeds)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        print(json.dumps(child_baseline(sys.argv[2], sys.argv[3])))
    else:
        main()
