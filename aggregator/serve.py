"""Serve the published feeds over HTTP, read-only, from inside the daemon.

Why a small hand-written HTTP/1.1 handler on `asyncio.start_server` rather than
`http.server` in a thread: it runs on the daemon's own event loop, so
`/status.json` reads the store with no locking against the polls that write
it, shutdown is one `close()` instead of a thread join, and the surface is
tiny: GET and HEAD of a fixed set of names, nothing else.

Only these paths exist: `/`, `/index.html`, `/status.json`, `/feeds.opml` and
`/<slug>.atom`. A request path is percent-decoded once and must then match
those names exactly, so `..`, absolute paths, encoded or double-encoded
traversal and backslashes never reach the file system; a symlink in the output
directory that points elsewhere is refused after resolving it.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import hashlib
import html
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .config import Config

log = logging.getLogger("aggregator.serve")

ATOM_TYPE = "application/atom+xml; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
_FEED_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.atom")
OPML_NAME = "feeds.opml"
MAX_LINE = 8192
MAX_HEADERS = 100
READ_TIMEOUT = 10.0  # a client that connects and says nothing is dropped
MIN_GZIP = 256  # smaller bodies grow when compressed

_REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, *, head_only: bool) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Error')}"]
        headers = {"Server": "feed-aggregator", "Connection": "close", **self.headers}
        if self.status != 304:
            headers["Content-Length"] = str(len(self.body))
        lines += [f"{name}: {value}" for name, value in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only or self.status == 304 else head + self.body


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _accepts_gzip(value: str | None) -> bool:
    """Accept-Encoding allows gzip (explicitly or by `*`) with a non-zero q."""
    if not value:
        return False
    qualities: dict[str, float] = {}
    for part in value.split(","):
        token, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        qualities[token.strip().lower()] = q
    if "gzip" in qualities:
        return qualities["gzip"] > 0
    return qualities.get("*", 0.0) > 0


def _not_modified(headers: Mapping[str, str], etags: tuple[str, ...], mtime: float | None) -> bool:
    """RFC 9110 13.1: If-None-Match wins over If-Modified-Since; weak comparison for GET."""
    inm = headers.get("if-none-match")
    if inm is not None:
        wanted = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
        return "*" in wanted or any(tag in wanted for tag in etags)
    ims = headers.get("if-modified-since")
    if ims and mtime is not None:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return int(mtime) <= since.timestamp()
    return False


@dataclass(frozen=True)
class _Cached:
    key: tuple[int, int, int]  # mtime_ns, size, inode: a rewritten feed is a new rename, so a new key
    body: bytes
    etag: str
    gz: bytes | None


class PortUnavailable(Exception):
    """The [serve] address cannot be listened on (in use, or not an address of this machine)."""


class FeedServer:
    def __init__(
        self,
        *,
        get_config: Callable[[], Config],
        status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        # Read the config per request, so a reload (new output_dir, titles) shows at once.
        self.get_config = get_config
        self.status = status
        self._server: asyncio.Server | None = None
        self._cache: dict[Path, _Cached] = {}

    async def start(self, host: str, port: int) -> tuple[str, int]:
        try:
            self._server = await asyncio.start_server(self._handle, host, port, limit=MAX_LINE * 2)
        except OSError as exc:
            raise PortUnavailable(
                f"serve: cannot listen on {host}:{port} ({exc.strerror or exc}); another program (or"
                " another aggregator) has it: stop that, or set another [serve] port"
            ) from None
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- connection --------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT)
            except (TimeoutError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                request = None
            if request is None:
                response, head_only = _text(400, "bad request\n"), False
            else:
                method, target, headers = request
                head_only = method == "HEAD"
                try:
                    response = self.respond(method, target, headers)
                except Exception:  # a bug must cost one response, not the reader's connection hanging
                    log.exception("serve: %s %s failed", method, target)
                    response = _text(500, "internal error\n")
            writer.write(response.encode(head_only=head_only))
            await writer.drain()
        except ConnectionError:
            pass  # the reader went away; nothing to tell anyone
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    # -- routing -----------------------------------------------------------

    def respond(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """The response to one request; `headers` have lower-case names."""
        if method not in ("GET", "HEAD"):
            response = _text(405, "read-only: GET and HEAD only\n")
            response.headers["Allow"] = "GET, HEAD"
            return response
        try:
            path = unquote(urlsplit(target).path or "/", errors="strict")
        except (UnicodeDecodeError, ValueError):
            return _text(404, "not found\n")
        config = self.get_config()
        if path in ("/", "/index.html"):
            return self._generated(render_index(config), HTML_TYPE, headers)
        if path == "/status.json" and self.status is not None:
            body = json.dumps(self.status(), ensure_ascii=False, indent=1).encode("utf-8")
            response = self._generated(body, JSON_TYPE, headers)
            response.headers["Cache-Control"] = "no-cache"
            return response
        name = path[1:]
        if path.startswith("/") and (name == OPML_NAME or _FEED_NAME.fullmatch(name)):
            file = _inside(config.output_dir, name)
            if file is not None:
                return self._file(file, OPML_TYPE if name == OPML_NAME else ATOM_TYPE, headers)
        return _text(404, "not found\n")

    def _generated(self, body: bytes, content_type: str, headers: Mapping[str, str]) -> Response:
        return self._representation(body, _etag(body), None, content_type, headers)

    def _file(self, path: Path, content_type: str, headers: Mapping[str, str]) -> Response:
        try:
            st = path.stat()
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            cached = self._cache.get(path)
            if cached is None or cached.key != key:
                body = path.read_bytes()
                cached = _Cached(key, body, _etag(body), None)
                self._cache[path] = cached
        except FileNotFoundError:
            return _text(404, "not found\n")
        return self._representation(cached.body, cached.etag, st.st_mtime, content_type, headers, path)

    def _representation(
        self,
        body: bytes,
        etag: str,
        mtime: float | None,
        content_type: str,
        headers: Mapping[str, str],
        path: Path | None = None,
    ) -> Response:
        gzip_it = len(body) >= MIN_GZIP and _accepts_gzip(headers.get("accept-encoding"))
        # The gzip variant is another representation, so it gets its own tag; either tag validates.
        gz_etag = etag[:-1] + '-gz"'
        out = {"Content-Type": content_type, "ETag": gz_etag if gzip_it else etag, "Vary": "Accept-Encoding"}
        if mtime is not None:
            out["Last-Modified"] = email.utils.formatdate(mtime, usegmt=True)
            out["Cache-Control"] = "max-age=60"
        if _not_modified(headers, (etag, gz_etag), mtime):
            return Response(304, b"", out)
        if gzip_it:
            body = self._gzip(body, etag, path)
            out["Content-Encoding"] = "gzip"
        return Response(200, body, out)

    def _gzip(self, body: bytes, etag: str, path: Path | None) -> bytes:
        cached = self._cache.get(path) if path is not None else None
        if cached is not None and cached.etag == etag and cached.gz is not None:
            return cached.gz
        gz = gzip.compress(body, compresslevel=6, mtime=0)  # mtime=0: same bytes every time
        if cached is not None and cached.etag == etag and path is not None:
            self._cache[path] = _Cached(cached.key, cached.body, cached.etag, gz)
        return gz


def _inside(directory: Path, name: str) -> Path | None:
    """`directory/name` if it is a regular file really inside `directory` (symlinks resolved)."""
    try:
        base = directory.resolve()
        candidate = (base / name).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    if candidate.parent != base or not candidate.is_file():
        return None
    return candidate


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    method, target, _version = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            return method, target, headers
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            return None
        headers[name.strip().lower()] = value.strip()
    return None  # too many headers


def feed_list(config: Config) -> list[tuple[str, str, str]]:
    """(slug, title, description) of every feed the daemon publishes, in index order."""
    from .health import HEALTH_SLUG, HEALTH_TITLE

    feeds = [("all", "All items", "Every item from every source")]
    feeds += [(slug, c.title, c.description or c.title) for slug, c in config.categories.items()]
    feeds.append((HEALTH_SLUG, HEALTH_TITLE, "Sources that stopped working and need a look"))
    return feeds


def render_index(config: Config) -> bytes:
    """A small page listing the feeds with subscribe links (also discoverable via <link rel=alternate>)."""
    existing = [f for f in feed_list(config) if (config.output_dir / f"{f[0]}.atom").is_file()]
    base = config.settings.base_url.rstrip("/")
    esc = html.escape
    links = "\n".join(
        f'<link rel="alternate" type="application/atom+xml" title="{esc(title)}" href="/{slug}.atom">'
        for slug, title, _ in existing
    )
    rows = "\n".join(
        f'<li><a href="/{slug}.atom" type="application/atom+xml">{esc(title)}</a>'
        f" <small>{esc(desc) if desc != title else ''}</small>"
        f' <code>{esc(base)}/{slug}.atom</code></li>'
        for slug, title, desc in existing
    )
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>Feed aggregator</title>
{links}
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}}code{{color:#555;font-size:85%}}</style>
</head><body>
<h1>Feeds</h1>
<p>Subscribe to any of these in your feed reader, or import <a href="/{OPML_NAME}">all of them as OPML</a>.</p>
<ul>
{rows or '<li>No feeds published yet.</li>'}
</ul>
<p><a href="/status.json">Source status (JSON)</a></p>
</body></html>
"""
    return page.encode("utf-8")
