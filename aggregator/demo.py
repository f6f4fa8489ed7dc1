"""The bundled sample site for `aggregator run --demo`: a tiny gov-style site on 127.0.0.1.

It has an RSS feed (`/news.xml`) and an HTML list page (`/list.html`) with
article pages (`/art/N.html`), so a newcomer sees both kinds of source fill
their feeds without any network. Pages are package data in `demo_site/`; the
links inside them name DEMO_BASE and are rewritten to the port actually used.

The sample site moves with `--demo-port PORT` (or AGGREGATOR_DEMO_PORT, which the option
sets so that a reload keeps it): every config loaded then has its sources that point at
DEMO_BASE pointing at PORT instead, and the site is served where they point.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("aggregator.demo")

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8765  # config/demo.toml points here
DEMO_BASE = f"http://{DEMO_HOST}:{DEMO_PORT}"
DEMO_PORT_VARIABLE = "AGGREGATOR_DEMO_PORT"  # set by --demo-port
_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def load_pages(base_url: str = DEMO_BASE) -> dict[str, tuple[bytes, str]]:
    """URL path -> (body, content type) for every file of the sample site."""
    pages: dict[str, tuple[bytes, str]] = {}
    root = resources.files("aggregator") / "demo_site"

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.is_file() and "." in child.name:
                suffix = child.name[child.name.rindex(".") :]
                if suffix in _TYPES:
                    body = child.read_bytes().replace(DEMO_BASE.encode(), base_url.encode())
                    pages[f"{prefix}{child.name}"] = (body, _TYPES[suffix])

    walk(root, "/")
    pages["/"] = pages["/list.html"]
    return pages


@dataclass
class DemoSite:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_demo_site(host: str = DEMO_HOST, port: int = DEMO_PORT) -> DemoSite:
    """Serve the sample site from a background thread (it is independent of the daemon's loop)."""
    pages: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log.debug("demo site: " + format, *args)

        def do_GET(self) -> None:
            page = pages.get(self.path.split("?")[0])
            body, content_type = page if page else (b"not found\n", "text/plain; charset=utf-8")
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        from .serve import PortUnavailable  # exit 4, as for the [serve] port

        raise PortUnavailable(
            f"demo: cannot serve the sample site on {host}:{port} ({exc.strerror or exc}); stop what uses it"
            " (a running `aggregator run --demo`?), or move the sample site with --demo-port PORT"
            f" (or {DEMO_PORT_VARIABLE}=PORT)"
        ) from None
    server.daemon_threads = True
    actual_host, actual_port = server.server_address[:2]
    pages.update(load_pages(f"http://{actual_host}:{actual_port}"))
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    return DemoSite(server, thread)


def demo_port(urls: Iterable[str]) -> int:
    """Where to serve the sample site: the loopback port the config's sources point to."""
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname == DEMO_HOST and parts.port:
            return parts.port
    return DEMO_PORT


def moved_demo_port() -> int | None:
    """The sample site's port from AGGREGATOR_DEMO_PORT; None when unset. ValueError when not a port."""
    value = os.environ.get(DEMO_PORT_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{DEMO_PORT_VARIABLE}={value!r} is not a port: use a number from 1 to 65535")
    return int(value)


def with_demo_port(config: Config) -> Config:
    """The config with its sources on the sample site's usual address moved to AGGREGATOR_DEMO_PORT."""
    port = moved_demo_port()
    if port is None:
        return config
    sources = []
    for source in config.sources:
        parts = urlsplit(source.url)
        if parts.hostname == DEMO_HOST and parts.port == DEMO_PORT:
            source = source.model_copy(update={"url": urlunsplit(parts._replace(netloc=f"{DEMO_HOST}:{port}"))})
        sources.append(source)
    return config.model_copy(update={"sources": sources})
