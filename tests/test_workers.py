"""Parsing worker processes: results come back intact, and no worker outlives its parent."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aggregator.extract import decode
from aggregator.infra import workers
from aggregator.models import ErrorKind, SourceError

HOLDER = """
import asyncio, time
from aggregator.infra import workers

async def main():
    print(await workers.parse(len, b"abc"), flush=True)

if __name__ == "__main__":
    workers.start_workers(1)
    asyncio.run(main())
    time.sleep(120)
"""


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    marker = f"AGGREGATOR_TEST_{uuid.uuid4().hex}"
    script = tmp_path / "holder.py"
    script.write_text(HOLDER, encoding="utf-8")
    env = {**os.environ, marker: "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert parent.stdout is not None and parent.stdout.readline().strip() == "3"  # a worker did the work
    assert len(_processes_with(marker)) >= 3  # parent, forkserver, worker (and the resource tracker)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


def test_a_source_error_raised_in_a_worker_arrives_typed() -> None:
    def run() -> None:
        async def parse() -> None:
            await workers.parse(decode.decode_page, b"\x00" * 10, None, "no-such-codec", "http://x/")

        asyncio.run(parse())

    workers.start_workers(1)
    try:
        run()
    except SourceError as exc:
        assert exc.kind is ErrorKind.DECODE
    else:
        raise AssertionError("an unknown encoding must be refused")
    finally:
        workers.stop_workers()


def test_feeds_are_the_same_with_and_without_a_worker_pool(tmp_path: Path, site) -> None:  # noqa: ANN001
    from aggregator.cli import main

    from .conftest import write_config

    site.add_file("/mee.xml", "feeds/rss2-guid.xml", content_type="application/rss+xml")
    site.add_file("/ywdt/", "sites/mee/index.html")  # an HTML list: parsed in the worker when there is one
    outputs = []
    for workers in (0, 1):
        directory = tmp_path / f"w{workers}"
        directory.mkdir()
        body = (
            f'[[sources]]\nname = "mee"\nurl = "{site.url("/mee.xml")}"\nkind = "feed"\n'
            f'[[sources]]\nname = "list"\nurl = "{site.url("/ywdt/")}"\nkind = "html"\nfetch_articles = false\n'
            '[sources.list]\nitem = ".mobile_none li, .mobile_clear li"\ntitle = "a.cjcx_biaob"\ndate = "span"\n'
        )
        assert main(["poll", "--once", str(write_config(directory, body, workers=workers))]) == 0
        outputs.append((directory / "feeds" / "all.atom").read_bytes())
    # Every entry is dated, so the two feeds must be byte-identical, but for `updated`: the list's
    # rows are dated by day only, so theirs (and the feed's) is when each run first saw them.
    assert outputs[0].count(b"<entry>") == 3 + 5
    first_seen = re.compile(rb"<updated>[^<]*</updated>")
    assert len(first_seen.findall(outputs[0])) == 1 + 2 * (3 + 5)  # each entry's and its atom:source's
    assert first_seen.sub(b"", outputs[0]) == first_seen.sub(b"", outputs[1])


def test_a_page_that_kills_its_worker_fails_alone() -> None:
    async def both() -> list[object]:
        return await asyncio.gather(
            workers.parse(os._exit, 1), workers.parse(len, b"abc"), return_exceptions=True
        )

    workers.start_workers(1)
    try:
        crashed, fine = asyncio.run(both())
    finally:
        workers.stop_workers()
    assert isinstance(crashed, SourceError) and crashed.kind is ErrorKind.PARSE
    assert fine == 3  # the page parsed beside it was retried on a fresh worker


def test_a_parse_given_up_on_does_not_hold_up_the_next() -> None:
    async def abandon_then_parse() -> int:
        try:
            await asyncio.wait_for(workers.parse(time.sleep, 60), timeout=0.5)
        except TimeoutError:
            pass
        # Without recycling, this would queue behind the 60 s parse.
        return await asyncio.wait_for(workers.parse(len, b"ab"), timeout=20)

    workers.start_workers(1)
    try:
        assert asyncio.run(abandon_then_parse()) == 2
    finally:
        workers.stop_workers()
