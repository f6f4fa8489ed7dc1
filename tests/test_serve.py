"""The feed server over real sockets: validators, 304, gzip, index, and no way out of the output dir."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import Config, load_config
from aggregator.serve import FeedServer
from aggregator.serve.server import _accepts_gzip

from .conftest import write_config

ATOM = b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">' + b"<title>x</title>" * 40 + b"</feed>\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = write_config(
        tmp_path,
        '[categories.enforcement]\ntitle = "执法动态"\ndescription = "Cases & fines"\n'
        '[categories.empty]\ntitle = "Not published yet"\n',
    )
    config = load_config(path)
    out = config.output_dir
    out.mkdir()
    (out / "all.atom").write_bytes(ATOM)
    (out / "enforcement.atom").write_bytes(ATOM.replace(b"<title>x", b"<title>e"))
    (out / "health.atom").write_bytes(ATOM)
    (out / "feeds.opml").write_bytes(b'<?xml version="1.0"?><opml version="2.0"><head/><body/></opml>')
    (out / ".all.atom.abc.tmp").write_bytes(b"half written")
    (out / "notes.txt").write_bytes(b"not a feed")
    (tmp_path / "secret.atom").write_bytes(b"outside the output dir")
    (out / "escape.atom").symlink_to(tmp_path / "secret.atom")
    (out / "inside.atom").symlink_to(out / "all.atom")  # a symlink within the dir is fine
    return config


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


Reply = tuple[int, dict[str, str], bytes]


async def request(port: int, target: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    """A raw HTTP/1.1 request: clients like httpx normalise `..` away, which would hide traversal bugs."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), parsed, body


@asynccontextmanager
async def serving(config: Config, status: Callable[[], dict[str, Any]] | None = None) -> AsyncIterator[int]:
    server = FeedServer(get_config=lambda: config, status=status)
    _host, port = await server.start("127.0.0.1", 0)
    try:
        yield port
    finally:
        await server.close()


def against(config: Config, scenario: Callable[[int], Coroutine[Any, Any, None]], **kwargs: Any) -> None:
    async def main() -> None:
        async with serving(config, **kwargs) as port:
            await scenario(port)

    run(main())


def test_feed_200_then_304_by_etag_and_by_date(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, headers, body = await request(port, "/all.atom")
        assert status == 200 and body == ATOM
        assert headers["content-type"] == "application/atom+xml; charset=utf-8"
        etag, last_modified = headers["etag"], headers["last-modified"]
        assert etag.startswith('"') and int(headers["content-length"]) == len(ATOM)

        status, headers, body = await request(port, "/all.atom", {"If-None-Match": etag})
        assert status == 304 and body == b"" and headers["etag"] == etag
        status, _, _ = await request(port, "/all.atom", {"If-None-Match": f'"other", W/{etag}'})
        assert status == 304
        status, _, _ = await request(port, "/all.atom", {"If-Modified-Since": last_modified})
        assert status == 304
        status, _, body = await request(port, "/all.atom", {"If-None-Match": '"stale"'})
        assert status == 200 and body == ATOM

        # a rewrite (atomic rename, as publish does) changes the validator
        path = config.output_dir / "all.atom"
        tmp = path.with_name(".new")
        tmp.write_bytes(ATOM + b"<!-- changed -->\n")
        os.replace(tmp, path)
        status, headers, body = await request(port, "/all.atom", {"If-None-Match": etag})
        assert status == 200 and headers["etag"] != etag and body.endswith(b"<!-- changed -->\n")

    against(config, scenario)


def test_if_modified_since_before_the_file_gives_200(config: Config) -> None:
    async def scenario(port: int) -> None:
        long_ago = email.utils.formatdate(0, usegmt=True)
        status, _, _ = await request(port, "/all.atom", {"If-Modified-Since": long_ago})
        assert status == 200

    against(config, scenario)


def test_gzip_when_accepted(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, headers, body = await request(port, "/all.atom", {"Accept-Encoding": "br, gzip;q=0.8"})
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == ATOM and len(body) < len(ATOM)
        assert headers["vary"] == "Accept-Encoding"
        gz_etag = headers["etag"]
        status, _, _ = await request(port, "/all.atom", {"Accept-Encoding": "gzip", "If-None-Match": gz_etag})
        assert status == 304
        status, headers, body = await request(port, "/all.atom", {"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in headers and body == ATOM

    against(config, scenario)


def test_accept_encoding_parsing() -> None:
    assert _accepts_gzip("gzip, deflate")
    assert _accepts_gzip("*")
    assert not _accepts_gzip("gzip;q=0, *;q=1")
    assert not _accepts_gzip("identity")
    assert not _accepts_gzip(None)


def test_head_has_headers_but_no_body(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, headers, body = await request(port, "/all.atom", method="HEAD")
        assert status == 200 and body == b"" and int(headers["content-length"]) == len(ATOM)

    against(config, scenario)


def test_opml_content_type(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, headers, body = await request(port, "/feeds.opml")
        assert status == 200 and headers["content-type"] == "text/x-opml; charset=utf-8" and b"<opml" in body

    against(config, scenario)


@pytest.mark.parametrize(
    "target",
    [
        "/../config.toml",
        "/feeds/../config.toml",
        "/%2e%2e/config.toml",
        "/%2E%2E%2Fconfig.toml",
        "/..%2fsecret.atom",
        "/%252e%252e/secret.atom",
        "/..\\secret.atom",
        "/%5c..%5csecret.atom",
        "//etc/passwd",
        "/etc/passwd",
        "/%2fetc%2fpasswd",
        "http://evil.example/../secret.atom",
        "/escape.atom",  # symlink pointing out of the output dir
        "/escape.html",  # ...nor its page or JSON Feed
        "/escape.json",
        "/..%2fsecret.html",
        "/missing.html",
        "/feeds.json",
        "/status.json/../all.atom",
        "/.all.atom.abc.tmp",  # a half-written temp file
        "/notes.txt",
        "/missing.atom",
        "/all.atom%00.txt",
        "/%ff%fe.atom",
        "/ALL.atom",
    ],
)
def test_nothing_outside_the_feeds_is_reachable(config: Config, target: str) -> None:
    async def scenario(port: int) -> None:
        status, _, body = await request(port, target)
        assert status == 404, (target, status, body)
        assert b"outside" not in body and b"[settings]" not in body

    against(config, scenario)


def test_symlink_inside_the_output_dir_is_served(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, _, body = await request(port, "/inside.atom")
        assert status == 200 and body == ATOM

    against(config, scenario)


def test_read_only(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, headers, _ = await request(port, "/all.atom", method="POST")
        assert status == 405 and headers["allow"] == "GET, HEAD"
        status, _, _ = await request(port, "/all.atom", method="DELETE")
        assert status == 405

    against(config, scenario)
    assert (config.output_dir / "all.atom").read_bytes() == ATOM


def test_garbage_request_gets_400_and_server_keeps_going(config: Config) -> None:
    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x01 nonsense\r\n\r\n")
        await writer.drain()
        # A line with no HTTP version gets the 1.0 status line (aiohttp): only the 400 matters.
        assert (await reader.read()).split(b"\r\n")[0] in (b"HTTP/1.0 400 Bad Request", b"HTTP/1.1 400 Bad Request")
        writer.close()
        status, _, _ = await request(port, "/all.atom")
        assert status == 200

    against(config, scenario)


def test_index_lists_published_feeds_with_titles(config: Config) -> None:
    async def scenario(port: int) -> None:
        status, headers, body = await request(port, "/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
        page = body.decode("utf-8")
        assert '<a href="/all.atom"' in page and '<a href="/enforcement.atom"' in page and "执法动态" in page
        assert '<a href="/health.atom"' in page
        assert "Cases &amp; fines" in page  # escaped
        assert "/empty.atom" not in page  # not published (yet): no dead link
        assert 'rel="alternate" type="application/atom+xml"' in page and "/feeds.opml" in page
        status, _, _ = await request(port, "/", {"If-None-Match": headers["etag"]})
        assert status == 304

    against(config, scenario)


def test_status_json(config: Config) -> None:
    doc = {"sources": [{"name": "mee", "status": "ok"}]}

    async def scenario(port: int) -> None:
        status, headers, body = await request(port, "/status.json")
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert json.loads(body) == doc

    against(config, scenario, status=lambda: doc)


def test_idle_and_slow_clients_do_not_block_others(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    import aggregator.serve.server

    monkeypatch.setattr(aggregator.serve.server, "READ_TIMEOUT", 0.5)

    async def scenario(port: int) -> None:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(30)]
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port)
        slow_writer.write(b"GET /all.atom HTT")  # and then nothing more
        await slow_writer.drain()
        for _ in range(5):
            status, _, body = await request(port, "/all.atom")
            assert status == 200 and body == ATOM
        # The silent ones are dropped by the server, not kept open forever.
        assert not (await slow_reader.read()).startswith(b"HTTP/1.1 200")
        assert await idle[0][0].read() == b""
        for _reader, writer in idle:
            writer.close()
        slow_writer.close()

    against(config, scenario)
