"""Serve the published feeds, their readable pages and source health over HTTP, read-only.

Why aiohttp.web: it is an asyncio server, so it runs on the daemon's own event
loop (`/status.json` reads the store with no locking against the polls that
write it; shutdown is one `cleanup()`), it is maintained by the aio-libs team
with a hardened HTTP parser (llhttp) that replaces our hand-parsed HTTP/1.1,
and unlike Starlette it needs no second server package (uvicorn) with its own
signal handling and lifecycle to embed. We use its low-level `web.Server`: the
routing is a fixed table of names below, and matching it ourselves on the raw
request target is what keeps traversal out (aiohttp's router would normalise
`..` and percent-escapes before we could refuse them).

Only these paths exist: `/`, `/index.html`, `/status`, `/status.json`,
`/feeds.opml` and, for every `<slug>.atom` the publisher wrote,
`/<slug>.atom`, `/<slug>.html` (a readable page) and `/<slug>.json` (JSON Feed
1.1). A request path is percent-decoded once and must then match those names
exactly, so `..`, absolute paths, encoded or double-encoded traversal and
backslashes never reach the file system; a symlink in the output directory
that points elsewhere is refused after resolving it. ETag/Last-Modified/304
and gzip (with a stable, cached compressed body) are done here because the
variants must keep their own validators; aiohttp's on-the-fly compression
would not.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web

from ..config import Config
from .jsonfeed import JSON_FEED_TYPE, render_json_feed
from .pages import Feed, Renderer, read_atom

log = logging.getLogger("aggregator.serve")

ATOM_TYPE = "application/atom+xml; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
_FEED_NAME = re.compile(r"([a-z0-9][a-z0-9_-]*)\.(atom|html|json)")
OPML_NAME = "feeds.opml"
MAX_LINE = 8190
MAX_HEADERS = 100
READ_TIMEOUT = 10.0  # a client that connects and says nothing is dropped
MIN_GZIP = 256  # smaller bodies grow when compressed
SHUTDOWN_GRACE = 2.0  # responses are small and in memory; a stuck reader must not hold up a stop


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


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


FileKey = tuple[int, int, int]  # mtime_ns, size, inode: a rewritten feed is a new rename, so a new key


@dataclass(frozen=True)
class _Cached:
    key: Any
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
        self._runner: web.ServerRunner | None = None
        self._cache: dict[Any, _Cached] = {}
        self._parsed: dict[Path, tuple[FileKey, Feed]] = {}

    async def start(self, host: str, port: int) -> tuple[str, int]:
        server = web.Server(
            self._handle,
            keepalive_timeout=READ_TIMEOUT,
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            max_headers=MAX_HEADERS,
            access_log=None,
        )
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise PortUnavailable(
                f"serve: cannot listen on {host}:{port} ({exc.strerror or exc}); another program (or"
                " another aggregator) has it: stop that, or set another [serve] port"
            ) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockname = runner.addresses[0]
        return sockname[0], sockname[1]

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # -- connection --------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            response = self.respond(request.method, request.raw_path, headers)
        except Exception:  # a bug must cost one response, not the reader's connection hanging
            log.exception("serve: %s %s failed", request.method, request.raw_path)
            response = _text(500, "internal error\n")
        out = web.Response(
            status=response.status,
            body=response.body if response.status != 304 else None,
            headers={"Server": "feed-aggregator", **response.headers},
        )
        # One request per connection, as before: nothing to gain from keep-alive for a few
        # polls an hour, and an idle kept-alive socket is one more thing to time out.
        out.force_close()
        return out

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
            return self._generated(self.index_page(config), HTML_TYPE, headers)
        if path in ("/status", "/status.html") and self.status is not None:
            response = self._generated(self._renderer(config).status(self.status()), HTML_TYPE, headers)
            response.headers["Cache-Control"] = "no-cache"
            return response
        if path == "/status.json" and self.status is not None:
            body = json.dumps(self.status(), ensure_ascii=False, indent=1).encode("utf-8")
            response = self._generated(body, JSON_TYPE, headers)
            response.headers["Cache-Control"] = "no-cache"
            return response
        if not path.startswith("/"):
            return _text(404, "not found\n")
        name = path[1:]
        if name == OPML_NAME:
            file = _inside(config.output_dir, name)
            if file is not None:
                return self._file(file, OPML_TYPE, headers)
        match = _FEED_NAME.fullmatch(name)
        if match:
            slug, kind = match.groups()
            file = _inside(config.output_dir, f"{slug}.atom")
            if file is not None:
                if kind == "atom":
                    return self._file(file, ATOM_TYPE, headers)
                return self._derived(file, slug, kind, config, headers)
        return _text(404, "not found\n")

    def _renderer(self, config: Config) -> Renderer:
        return Renderer(base_url=config.settings.base_url, timezone_name=config.settings.timezone)

    def index_page(self, config: Config) -> bytes:
        """The feed list: each published feed with its entry count and last update."""
        base = config.settings.base_url.rstrip("/")
        feeds = []
        for slug, title, description in feed_list(config):
            file = _inside(config.output_dir, f"{slug}.atom")
            feed = self._feed(file) if file is not None else None
            if feed is None or file is None:
                continue  # not published (yet): no dead link
            try:
                changed: datetime | None = datetime.fromtimestamp(file.stat().st_mtime, timezone.utc)
            except OSError:
                changed = None
            feeds.append(
                {
                    "slug": slug,
                    "title": title,
                    "description": description,
                    "entries": len(feed.entries),
                    # The newest date an entry shows: old on a quiet feed, which is no stall. (None
                    # for an empty feed.)
                    "updated": feed.newest,
                    "changed": changed,  # when the publisher last wrote the file (it is left alone when unchanged)
                    "url": f"{base}/{slug}.atom",
                }
            )
        return self._renderer(config).index(feeds, polled=self._poll_times())

    def _poll_times(self) -> tuple[str | None, str | None]:
        """When the sources were last polled and the next poll is due (ISO, UTC), from the status document."""
        if self.status is None:
            return None, None
        rows = self.status().get("sources", [])
        attempts = [row["last_attempt"] for row in rows if row.get("last_attempt")]
        upcoming = [row["next_run"] for row in rows if row.get("next_run")]
        return (
            max(attempts, key=datetime.fromisoformat) if attempts else None,
            min(upcoming, key=datetime.fromisoformat) if upcoming else None,
        )

    def _feed(self, path: Path) -> Feed | None:
        """The parsed Atom file, re-read only when the publisher replaced it."""
        try:
            key = _file_key(path)
            cached = self._parsed.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            feed = read_atom(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as exc:  # not written by us (someone put a file there): not a feed
            log.warning("serve: %s is not a readable Atom feed: %s", path, exc)
            return None
        self._parsed[path] = (key, feed)
        return feed

    def _derived(self, atom: Path, slug: str, kind: str, config: Config, headers: Mapping[str, str]) -> Response:
        """`<slug>.html` or `<slug>.json`, rendered from `<slug>.atom` and cached with it."""
        try:
            st = atom.stat()
        except FileNotFoundError:
            return _text(404, "not found\n")
        cache_key = (atom, kind)
        titles = tuple(category_titles(config).items()) if kind == "html" else ()
        key = (st.st_mtime_ns, st.st_size, st.st_ino, config.settings.base_url, config.settings.timezone, titles)
        cached = self._cache.get(cache_key)
        if cached is None or cached.key != key:
            feed = self._feed(atom)
            if feed is None:
                return _text(404, "not found\n")
            if kind == "html":
                body = self._renderer(config).feed(slug, feed, category_titles(config))
            else:
                body = render_json_feed(feed, slug, config.settings.base_url)
            cached = _Cached(key, body, _etag(body), None)
            self._cache[cache_key] = cached
        content_type = HTML_TYPE if kind == "html" else JSON_FEED_TYPE
        return self._representation(cached.body, cached.etag, st.st_mtime, content_type, headers, cache_key)

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
        cache_key: Any = None,
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
            body = self._gzip(body, etag, cache_key)
            out["Content-Encoding"] = "gzip"
        return Response(200, body, out)

    def _gzip(self, body: bytes, etag: str, cache_key: Any) -> bytes:
        cached = self._cache.get(cache_key) if cache_key is not None else None
        if cached is not None and cached.etag == etag and cached.gz is not None:
            return cached.gz
        gz = gzip.compress(body, compresslevel=6, mtime=0)  # mtime=0: same bytes every time
        if cached is not None and cached.etag == etag:
            self._cache[cache_key] = _Cached(cached.key, cached.body, cached.etag, gz)
        return gz


def _file_key(path: Path) -> FileKey:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


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


def feed_list(config: Config) -> list[tuple[str, str, str]]:
    """(slug, title, description) of every feed the daemon publishes, in index order."""
    from ..publish.health import HEALTH_SLUG, HEALTH_TITLE

    feeds = [("all", "All items", "Every item from every source")]
    feeds += [(slug, c.title, c.description or c.title) for slug, c in config.categories.items()]
    feeds.append((HEALTH_SLUG, HEALTH_TITLE, "Sources that stopped working and need a look"))
    return feeds


def category_titles(config: Config) -> dict[str, str]:
    """What a page shows for an entry's category (the Atom term is the slug)."""
    return {slug: c.title for slug, c in config.categories.items()}


def render_index(config: Config) -> bytes:
    """The index page of `config`'s published feeds (also discoverable via <link rel=alternate>)."""
    return FeedServer(get_config=lambda: config).index_page(config)
