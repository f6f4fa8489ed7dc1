"""Network options per source: proxy (HTTP and SOCKS), referer, warm-up cookies, cookies, 403 bursts.

The sites and proxies are real servers on 127.0.0.1; a "blocked network" is a site that refuses
requests which did not come through the proxy.
"""

from __future__ import annotations

import http.client
import itertools
import select
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config


def list_page(prefix: str = "/art/", count: int = 3) -> str:
    rows = "".join(
        f'<li><a href="{prefix}{n}.html">第{n}号环境行政处罚决定书</a><span>2024-05-0{n}</span></li>' for n in range(1, count + 1)
    )
    return f'<html><body><ul class="list">{rows}</ul></body></html>'


def article(request: Request) -> Response:
    n = request.path.rsplit("/", 1)[-1].split(".")[0]
    return Response(
        f'<html><head><meta name="PubDate" content="2024-05-0{n} 10:00"></head><body><div id="zoom">'
        f"<p>第{n}号决定：对某企业罚款{n}万元。</p></div></body></html>".encode()
    )


def config_for(tmp_path: Path, site: Site, extra: str = "", settings: str = "") -> Path:
    path = write_config(
        tmp_path,
        f"""
[[sources]]
name = "bureau"
url = "{site.url('/list/')}"
kind = "html"
fetch_articles = true
{extra}
[sources.list]
item = "ul.list li"
date = "span"
""",
    )
    if settings:
        path.write_text(path.read_text(encoding="utf-8").replace("[settings]\n", f"[settings]\n{settings}\n"), encoding="utf-8")
    return path


def titles(tmp_path: Path) -> list[str]:
    parsed = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes())
    assert not parsed.bozo
    return sorted(entry.title for entry in parsed.entries)


def contents(tmp_path: Path) -> list[str]:
    parsed = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes())
    return sorted(entry.content[0].value for entry in parsed.entries if "content" in entry)


ALL_THREE = [f"第{n}号环境行政处罚决定书" for n in (1, 2, 3)]


# -- proxies --------------------------------------------------------------------------------------


class HttpProxy(ThreadingHTTPServer):
    """A forward HTTP proxy: relays absolute-URI requests and adds `Via`, as a real one does."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: HttpProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.seen.append(self.path)
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers={**headers, "Via": "1.1 test-proxy"})
        answer = upstream.getresponse()
        body = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        upstream.close()


class Socks5Proxy(socketserver.ThreadingTCPServer):
    """A SOCKS5 proxy (no authentication, CONNECT only) that counts the connections it relays."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        super().__init__(("127.0.0.1", 0), _SocksHandler)

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.server_address[1]}"


class _SocksHandler(socketserver.BaseRequestHandler):
    server: Socks5Proxy

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client left")
            data += chunk
        return data

    def handle(self) -> None:
        client: socket.socket = self.request
        try:
            _version, methods = self._read(2)
            self._read(methods)
            client.sendall(b"\x05\x00")
            _v, _cmd, _rsv, atyp = self._read(4)
            if atyp == 1:
                host = socket.inet_ntoa(self._read(4))
            elif atyp == 3:
                host = self._read(self._read(1)[0]).decode()
            else:
                client.sendall(b"\x05\x08\x00\x01" + b"\x00" * 6)
                return
            (port,) = struct.unpack("!H", self._read(2))
            upstream = socket.create_connection((host, port), timeout=10)
        except (ConnectionError, OSError):
            return
        self.server.connects.append((host, port))
        client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
        with upstream:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 10)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)


@pytest.fixture
def http_proxy() -> Iterator[HttpProxy]:
    proxy = HttpProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture
def socks_proxy() -> Iterator[Socks5Proxy]:
    proxy = Socks5Proxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def only_via_proxy(response: Response | None = None, handler=None):  # noqa: ANN001, ANN201
    """A site that refuses (as if from a cloud IP) every request that did not come through the HTTP proxy."""

    def serve(request: Request) -> Response:
        if "via" not in request.headers:
            return Response(b"", status=403, content_type="text/plain")
        return handler(request) if handler else response  # type: ignore[return-value]

    return serve


def test_a_source_behind_an_http_proxy(tmp_path: Path, site: Site, http_proxy: HttpProxy) -> None:
    site.add("/list/", only_via_proxy(Response(list_page().encode())))
    for n in (1, 2, 3):
        site.add(f"/art/{n}.html", only_via_proxy(handler=article))
    config = config_for(tmp_path, site, f'proxy = "{http_proxy.url}"')
    assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == ALL_THREE
    assert any("罚款3万元" in c for c in contents(tmp_path))
    assert site.url("/list/") in http_proxy.seen and site.url("/art/3.html") in http_proxy.seen


def test_the_settings_proxy_is_the_default_and_a_source_can_opt_out(
    tmp_path: Path, site: Site, http_proxy: HttpProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/list/", only_via_proxy(Response(list_page().encode())))
    for n in (1, 2, 3):
        site.add(f"/art/{n}.html", only_via_proxy(handler=article))
    config = config_for(tmp_path, site, settings=f'proxy = "{http_proxy.url}"')
    assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == ALL_THREE and len(contents(tmp_path)) == 3
    direct = config.read_text(encoding="utf-8").replace('kind = "html"', 'kind = "html"\nproxy = ""')
    config.write_text(direct, encoding="utf-8")
    seen = len(http_proxy.seen)
    assert main(["poll", "--once", str(config)]) == 1
    assert "bureau: FAILED http-status" in capsys.readouterr().out and len(http_proxy.seen) == seen


def test_a_source_behind_a_socks5_proxy(tmp_path: Path, site: Site, socks_proxy: Socks5Proxy) -> None:
    site.add("/list/", list_page())
    for n in (1, 2, 3):
        site.add(f"/art/{n}.html", article)
    config = config_for(tmp_path, site, f'proxy = "{socks_proxy.url}"')
    assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == ALL_THREE
    port = int(site.base.rsplit(":", 1)[1])
    assert ("127.0.0.1", port) in socks_proxy.connects


def test_try_goes_through_the_sources_proxy(
    tmp_path: Path, site: Site, http_proxy: HttpProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/list/", only_via_proxy(Response(list_page().encode())))
    config = config_for(tmp_path, site, f'proxy = "{http_proxy.url}"')
    assert main(["try", "--config", str(config), "--source", "bureau"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"list {site.url('/list/')}: 3 items") and "第3号环境行政处罚决定书" in out


# -- referer and cookies ---------------------------------------------------------------------------


def test_referer_and_cookies_are_sent_with_every_request(tmp_path: Path, site: Site) -> None:
    home = site.url("/")

    def guarded(inner):  # noqa: ANN001, ANN202
        def serve(request: Request) -> Response:
            if request.headers.get("referer") != home or "token=abc123" not in request.headers.get("cookie", ""):
                return Response(b"", status=404, content_type="text/plain")
            return inner(request)

        return serve

    site.add("/list/", guarded(lambda _r: Response(list_page().encode())))
    for n in (1, 2, 3):
        site.add(f"/art/{n}.html", guarded(article))
    config = config_for(tmp_path, site, f'referer = "{home}"\ncookies = {{ token = "abc123" }}')
    assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == ALL_THREE
    assert len(contents(tmp_path)) == 3


# -- warm-up ----------------------------------------------------------------------------------------


def test_the_list_needs_the_warm_up_cookie_and_it_is_renewed_when_refused(tmp_path: Path, site: Site) -> None:
    sessions = itertools.count(1)
    valid: set[str] = set()

    def home(_request: Request) -> Response:
        sid = f"s{next(sessions)}"
        valid.add(sid)
        return Response(b"<html><body>home</body></html>", headers={"Set-Cookie": f"JSESSIONID={sid}; Path=/; Max-Age=3600"})

    def needs_session(inner):  # noqa: ANN001, ANN202
        def serve(request: Request) -> Response:
            cookie = request.headers.get("cookie", "")
            if not any(f"JSESSIONID={sid}" in cookie for sid in valid):
                return Response(b"<html><body>403 Forbidden</body></html>", status=403)
            return inner(request)

        return serve

    site.add("/", home)
    site.add("/list/", needs_session(lambda _r: Response(list_page().encode())))
    for n in (1, 2, 3):
        site.add(f"/art/{n}.html", needs_session(article))
    config = config_for(tmp_path, site, f'warmup = "{site.url("/")}"')
    assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == ALL_THREE and len(contents(tmp_path)) == 3
    assert len(site.hits("/")) == 1  # once for the list and all its articles
    first_list = site.hits("/list/")[0]
    assert site.requests.index(site.hits("/")[0]) < site.requests.index(first_list)

    # The site forgets every session (as after its restart): the refused list renews the cookie.
    valid.clear()
    site.add("/list/", needs_session(lambda _r: Response(list_page(count=4).encode())))
    site.add("/art/4.html", needs_session(article))
    assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == [*ALL_THREE, "第4号环境行政处罚决定书"]
    assert len(site.hits("/")) == 2


def test_a_failing_warm_up_is_the_sources_error(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list/", list_page())
    config = config_for(tmp_path, site, f'warmup = "{site.url("/nowhere")}"')
    assert main(["poll", "--once", str(config)]) == 1
    assert "bureau: FAILED http-status: warm-up page: " in capsys.readouterr().out
    with open_store(tmp_path / "store.json") as store:
        assert len(store) == 0


# -- a host that answers bursts with 403 --------------------------------------------------------------


def test_a_403_in_a_burst_slows_the_host_down_instead_of_failing(
    tmp_path: Path, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    count = itertools.count(1)

    def burst_guard(inner):  # noqa: ANN001, ANN202
        def serve(request: Request) -> Response:
            if next(count) == 3:  # the third request of the burst
                return Response(b"<html><body>Too many requests</body></html>", status=403)
            return inner(request)

        return serve

    site.add("/list/", burst_guard(lambda _r: Response(list_page().encode())))
    for n in (1, 2, 3):
        site.add(f"/art/{n}.html", burst_guard(article))
    config = config_for(tmp_path, site, "respect_robots = false")
    with caplog.at_level("WARNING"):
        assert main(["poll", "--once", str(config)]) == 0
    assert titles(tmp_path) == ALL_THREE
    assert len(contents(tmp_path)) == 3  # the refused article was asked again, not skipped
    assert sum(len(site.hits(f"/art/{n}.html")) for n in (1, 2, 3)) == 4
    assert "HTTP 403/429 in a burst" in caplog.text and "at most every 1s" in caplog.text
    with open_store(tmp_path / "store.json") as store:
        assert store.state("bureau").consecutive_failures == 0


def test_a_host_that_refuses_from_the_start_is_not_retried(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list/", Response(b"", status=403, content_type="text/plain"))
    config = config_for(tmp_path, site, "respect_robots = false")
    assert main(["poll", "--once", str(config)]) == 1
    assert "bureau: FAILED http-status: " in capsys.readouterr().out
    assert len(site.hits("/list/")) == 1


def test_network_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[[sources]]\nname = "a"\nurl = "http://127.0.0.1/x"\nproxy = "ftp://127.0.0.1:21"\n')
    assert main(["check", str(config)]) == 2
    assert "must be http://, https://, socks5:// or socks5h://" in capsys.readouterr().err
    config = write_config(tmp_path, '[[sources]]\nname = "a"\nurl = "http://127.0.0.1/x"\nwarmup = "/home"\n')
    assert main(["check", str(config)]) == 2
    assert "'/home' is not an absolute http(s) URL" in capsys.readouterr().err


def test_each_burst_doubles_the_hosts_spacing_up_to_the_cap(site: Site) -> None:
    import asyncio
    import time

    from aggregator.fetch import Fetcher

    answers = iter([200, 403, 200, 403, 200, 200])
    stamps: list[float] = []

    def page(_request: Request) -> Response:
        stamps.append(time.monotonic())
        return Response(b"<html><body>ok</body></html>", status=next(answers))

    site.add("/p", page)

    async def scenario() -> None:
        async with Fetcher(user_agent="t", host_delay=0, host_delay_max=1.5) as fetcher:
            for _ in range(4):  # each 403 is asked again: six answers for four fetches
                result = await fetcher.fetch(site.url("/p"), respect_robots=False)
                assert result.status == 200

    asyncio.run(scenario())
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:])]
    assert len(stamps) == 6
    assert gaps[0] < 1.0  # no spacing before the first 403 (host_delay = 0)
    assert gaps[1] >= 1.0  # first burst: at least 1 s
    assert gaps[3] >= 1.5 and gaps[4] >= 1.5  # doubled to 2 s, capped at 1.5 s, and kept
