"""Shared test fixtures: a real HTTP server on 127.0.0.1 whose pages tests can change."""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Response]


class Site:
    """Routes by path (query included when the route has one); records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Response | Handler] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str | Response | Handler, **kwargs: object) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes):
            body = Response(body, **kwargs)  # type: ignore[arg-type]
        self.routes[path] = body

    def add_file(self, path: str, fixture: str, **kwargs: object) -> None:
        self.add(path, (FIXTURES / fixture).read_bytes(), **kwargs)

    def hits(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path or r.path.split("?")[0] == path]


def _handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with site.lock:
                site.requests.append(request)
            route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
            if route is None:
                response = Response(b"not found", status=404, content_type="text/plain")
            elif callable(route):
                response = route(request)
            else:
                response = route
            payload = response.body
            headers = dict(response.headers)
            if headers.pop("X-Gzip", None):
                payload = gzip.compress(payload)
                headers["Content-Encoding"] = "gzip"
            self.send_response(response.status)
            if response.status != 304:
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD" and response.status != 304:
                self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = _serve

    return RequestHandler


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(site))
    server.daemon_threads = True
    site.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def write_config(directory: Path, body: str, *, base_url: str = "http://127.0.0.1:8080", workers: int = 0) -> Path:
    """A config whose store and feeds live in `directory`; `body` adds categories and sources.

    Pages are parsed in-process unless `workers` is set: a worker pool costs start-up time.
    """
    path = directory / "config.toml"
    path.write_text(
        f"""
[settings]
store = "store.json"
output_dir = "feeds"
base_url = "{base_url}"
host_delay = 0
timeout = 10
workers = {workers}

[serve]
enabled = false

{body}
""",
        encoding="utf-8",
    )
    return path


# -- PostgreSQL: a throwaway server for the session, a fresh database per test ----------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A real PostgreSQL server (initdb in a temporary directory), stopped and removed at the end.

    Missing binaries or driver fail these tests (CI installs both), unless AGGREGATOR_SKIP_POSTGRES=1."""
    skipping = bool(os.environ.get("AGGREGATOR_SKIP_POSTGRES"))
    try:
        import psycopg  # noqa: F401
    except ImportError:
        (pytest.skip if skipping else pytest.fail)("psycopg is not installed: pip install -e '.[test]'")
    from .pgserver import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        (pytest.skip if skipping else pytest.fail)(
            "PostgreSQL binaries not found (initdb on PATH or /usr/lib/postgresql/*/bin): apt-get install postgresql,"
            " or set AGGREGATOR_SKIP_POSTGRES=1 to skip these tests"
        )
        raise AssertionError  # unreachable: skip and fail raise
    server = PgServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_server: object) -> Iterator[str]:
    """postgresql://user:password@127.0.0.1:port/dbname of a database created for this test."""
    from .pgserver import PgServer

    assert isinstance(postgres_server, PgServer)
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
