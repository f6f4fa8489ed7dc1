"""`render`: pages only a browser can read, in a real headless Chromium against loopback pages.

The test server tells browser requests from httpx ones by the Sec-Fetch-Mode header, which
Chromium sends on every request and httpx never does; it records every request, so the
tests also see that no image or font was ever asked for.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.fetch import fetcher_for
from aggregator.pipeline import poll_source
from aggregator.store import open_store

from .conftest import Request, Response, Site, _handler_for, write_config
from .test_readers import post_kind  # noqa: F401 - the fixture registering a POST list reader


@pytest.fixture(autouse=True)
def _chromium() -> None:
    """CI installs the extra and Chromium: a missing one fails loudly; locally it may be skipped on purpose."""
    if os.environ.get("AGGREGATOR_SKIP_BROWSER") == "1":
        pytest.skip("AGGREGATOR_SKIP_BROWSER=1: the real-Chromium tests are skipped")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.fail("the browser tests need the browser extra: .venv/bin/pip install -e '.[test,browser]'")
    if shutil.which("chromium") is None:
        pytest.fail("the browser tests need Chromium: apt-get install -y chromium (or AGGREGATOR_SKIP_BROWSER=1 to skip)")


@pytest.fixture
def other_site() -> Iterator[Site]:
    """A second host: a browser visit holds its own host's slot, as any request does."""
    from http.server import ThreadingHTTPServer

    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(site))
    server.daemon_threads = True
    site.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def _by_browser(request: Request) -> bool:
    return "sec-fetch-mode" in request.headers


HEAVY = """
<style>@font-face { font-family: Brand; src: url(/brand.woff2) format("woff2"); } body { font-family: Brand; }</style>
<img src="/logo.png" alt="">
<video src="/intro.mp4" autoplay muted></video>
"""


def _script_list(delay_ms: int) -> str:
    """A column page whose list exists only after its script ran (a Vue app, 江西's news column)."""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>执法动态</title></head><body>
<h1>执法动态</h1>{HEAVY}<ul id="list"></ul>
<script>
setTimeout(function () {{
  var rows = [["/art/1.html", "关于某化工企业环境违法行为的处罚决定", "2026-11-20"],
              ["/art/2.html", "生态环境执法典型案例通报", "2026-11-18"],
              ["/art/3.html", "建设项目环评审批公示", "2026-11-15"]];
  var ul = document.getElementById("list");
  rows.forEach(function (r) {{
    var li = document.createElement("li");
    li.innerHTML = '<a href="' + r[0] + '">' + r[1] + '</a> <span class="date">' + r[2] + '</span>';
    ul.appendChild(li);
  }});
}}, {delay_ms});
</script></body></html>"""


def _article(title: str) -> str:
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
        "<div class='content'><p>" + "经查，该企业存在违法排放污染物的行为，依法处以罚款。" * 8 + "</p></div></body></html>"
    )


def _add_articles(site: Site, handler: object = None) -> None:
    for number, title in enumerate(["关于某化工企业环境违法行为的处罚决定", "生态环境执法典型案例通报", "建设项目环评审批公示"], 1):
        site.add(f"/art/{number}.html", handler or _article(title))


def _config(tmp_path: Path, body: str, settings: str = "") -> Path:
    path = write_config(tmp_path, body)
    if settings:
        text = path.read_text(encoding="utf-8").replace("[settings]\n", f"[settings]\n{settings}\n", 1)
        path.write_text(text, encoding="utf-8")
    return path


def _entries(tmp_path: Path) -> list[str]:
    feed = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    return sorted(entry.title for entry in feed.entries)


@pytest.mark.parametrize("delay_ms", [0, 800])
def test_a_list_built_by_a_script_is_read_in_the_browser(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str], delay_ms: int
) -> None:
    site.add("/list/", _script_list(delay_ms))
    _add_articles(site)
    config = _config(
        tmp_path,
        f"""
[[sources]]
name = "plain"
url = "{site.url('/list/')}"
kind = "html"

[[sources]]
name = "rendered"
url = "{site.url('/list/')}"
kind = "html"
render = true
[sources.list]
item = "#list li"
date = ".date"
""",
    )
    assert main(["poll", "--once", str(config)]) == 1  # plain HTTP sees an empty list
    out = capsys.readouterr().out
    assert "plain: FAILED selectors-matched-nothing" in out
    assert "rendered: 3 found, 3 new" in out and "(in the browser: render = true)" in out
    assert _entries(tmp_path) == ["关于某化工企业环境违法行为的处罚决定", "建设项目环评审批公示", "生态环境执法典型案例通报"]
    with open_store(tmp_path / "store.json") as store:
        item = next(i for i in store.items(with_body=True) if i.title == "关于某化工企业环境违法行为的处罚决定")
        assert item.published is not None and item.published.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() == "2026-11-20"
        assert "违法排放污染物" in (item.content_html or "")
    # One list page in the browser; the article pages over plain HTTP.
    assert sum(map(_by_browser, site.hits("/list/"))) == 1
    assert all(not _by_browser(r) for path in ("/art/1.html", "/art/2.html", "/art/3.html") for r in site.hits(path))
    assert not site.hits("/logo.png") and not site.hits("/brand.woff2") and not site.hits("/intro.mp4")
    assert not any(r.path.endswith((".png", ".woff2", ".mp4", ".ico")) for r in site.requests)


class Challenge:
    """A 瑞数-style guard: HTTP 412 with an inline `$_ts` script that sets a cookie and reloads."""

    def __init__(self, site: Site) -> None:
        self.token = "pass-1"
        self.site = site

    def page(self, content: str) -> object:
        def handler(request: Request) -> Response:
            if f"ts_clearance={self.token}" in request.headers.get("cookie", ""):
                return Response(content.encode("utf-8"))
            script = (
                "<script>var $_ts = window['$_ts'] || {}; $_ts.nsd = 84271;"
                f"document.cookie = 'ts_clearance={self.token}; path=/; max-age=3600'; location.reload();</script>"
            )
            return Response(f"<html><head>{script}</head><body></body></html>".encode(), status=412)

        return handler


STATIC_LIST = """<html><head><meta charset="utf-8"><title>通知公告</title></head><body>
<ul class="news">
<li><a href="/art/1.html">关于某化工企业环境违法行为的处罚决定</a><span>2026-11-20</span></li>
<li><a href="/art/2.html">生态环境执法典型案例通报</a><span>2026-11-18</span></li>
<li><a href="/art/3.html">建设项目环评审批公示</a><span>2026-11-15</span></li>
</ul></body></html>"""


def test_a_challenge_is_passed_once_and_its_cookie_serves_plain_requests(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    guard = Challenge(site)
    site.add("/list/", guard.page(STATIC_LIST))
    for number, title in enumerate(["关于某化工企业环境违法行为的处罚决定", "生态环境执法典型案例通报", "建设项目环评审批公示"], 1):
        site.add(f"/art/{number}.html", guard.page(_article(title)))
    config = _config(
        tmp_path,
        f"""
[[sources]]
name = "hubei"
url = "{site.url('/list/')}"
kind = "html"
render = "auto"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    out = capsys.readouterr().out
    assert "hubei: 3 found, 3 new" in out
    assert "in the browser: render = \"auto\" and plain HTTP got HTTP 412 with a `$_ts` challenge script (Ruishu)" in out
    assert len(_entries(tmp_path)) == 3
    hits = site.hits("/list/")
    # httpx got the 412; the browser got it too, ran the script and reloaded with the cookie.
    assert [_by_browser(r) for r in hits] == [False, True, True]
    assert "ts_clearance" not in hits[1].headers.get("cookie", "") and "ts_clearance=pass-1" in hits[2].headers["cookie"]
    articles = [r for n in (1, 2, 3) for r in site.hits(f"/art/{n}.html")]
    assert len(articles) == 3  # each once, over httpx, with the browser's cookie (and its User-Agent)
    assert all(not _by_browser(r) and "ts_clearance=pass-1" in r.headers["cookie"] for r in articles)
    assert all(r.headers["user-agent"] == hits[2].headers["user-agent"] for r in articles)

    # The next poll is plain HTTP with the kept cookie: no browser at all.
    site.requests.clear()
    assert main(["poll", "--once", str(config)]) == 0
    assert "in the browser" not in capsys.readouterr().out
    assert not any(_by_browser(r) for r in site.requests) and site.hits("/list/")

    # The site rotates its cookie: plain HTTP is refused again, so the browser passes the challenge once more.
    guard.token = "pass-2"
    site.requests.clear()
    assert main(["poll", "--once", str(config)]) == 0
    assert "in the browser: render = \"auto\"" in capsys.readouterr().out
    assert sum(map(_by_browser, site.requests)) == 2
    assert main(["status", str(config)]) == 0
    status = capsys.readouterr().out
    assert "needed the browser" in status and "HTTP 412 with a `$_ts` challenge script" in status


def test_a_page_that_never_settles_is_cut_at_the_time_limit(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    # A script that keeps asking the server: the network never goes quiet.
    site.add(
        "/busy/",
        "<html><body><ul id='list'></ul><script>setInterval(function () { fetch('/ping?' + Math.random()); }, 100);</script></body></html>",
    )
    site.add("/ping", "pong", content_type="text/plain")
    site.add("/plain/", STATIC_LIST)
    _add_articles(site)
    config = _config(
        tmp_path,
        f"""
[[sources]]
name = "busy"
url = "{site.url('/busy/')}"
kind = "html"
render = true

[[sources]]
name = "plain"
url = "{site.url('/plain/')}"
kind = "html"
""",
        settings="stale_after = 0",
    )
    config.write_text(config.read_text(encoding="utf-8").replace("timeout = 10", "timeout = 3"), encoding="utf-8")
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert "busy: FAILED timeout:" in out and "was not ready within 3s (waiting for the network to settle)" in out
    assert "set `wait_for`" in out
    assert "plain: 3 found, 3 new" in out  # the other source is unaffected
    health = feedparser.parse((tmp_path / "feeds" / "health.atom").read_bytes())
    (entry,) = health.entries
    assert "busy" in entry.title and "The source needs the browser: render = true" in entry.content[0].value


def test_a_browser_killed_mid_poll_fails_that_poll_only_and_the_next_works(
    tmp_path: Path, site: Site, other_site: Site
) -> None:
    reached, release = threading.Event(), threading.Event()
    calls = []

    def slow_list(request: Request) -> Response:
        calls.append(request)
        if len(calls) == 1:
            reached.set()
            release.wait(20)
        return Response(STATIC_LIST.encode())

    site.add("/slow/", slow_list)
    site.add("/plain/", STATIC_LIST)
    _add_articles(site)
    other_site.add("/plain/", STATIC_LIST)
    _add_articles(other_site)
    config = load_config(
        _config(
            tmp_path,
            f"""
[[sources]]
name = "rendered"
url = "{site.url('/slow/')}"
kind = "html"
render = true

[[sources]]
name = "plain"
url = "{other_site.url('/plain/')}"
kind = "html"
""",
        )
    )
    rendered, plain = config.sources

    async def scenario() -> tuple[object, object, object, int]:
        async with fetcher_for(config) as fetcher:
            with open_store(config.store_path) as store:
                stuck = asyncio.create_task(poll_source(rendered, config, fetcher, store))
                assert await asyncio.to_thread(reached.wait, 20)
                # The daemon does not wait on the browser: another source polls meanwhile.
                other = await poll_source(plain, config, fetcher, store)
                os.kill(fetcher.browser.pid, signal.SIGKILL)
                first = await stuck
                release.set()
                second = await poll_source(rendered, config, fetcher, store)
                return first, second, other, fetcher.browser.launches

    first, second, other, launches = asyncio.run(scenario())
    assert other.ok and other.new == 3
    assert not first.ok and first.error_kind.value == "browser" and "the browser crashed" in first.error
    assert second.ok and second.new == 3
    assert launches == 2
    with open_store(config.store_path) as store:
        state = store.state("rendered")
        assert state.consecutive_failures == 0 and state.rendered == "render = true"


def test_without_chromium_a_render_source_says_what_to_install_and_others_work(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/list/", STATIC_LIST)
    _add_articles(site)
    body = f"""
[[sources]]
name = "rendered"
url = "{site.url('/list/')}"
kind = "html"
render = true

[[sources]]
name = "plain"
url = "{site.url('/list/')}"
kind = "html"
"""
    config = _config(tmp_path, body, settings='browser = "/nonexistent/chromium"')
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    assert "rendered: FAILED browser: `browser = '/nonexistent/chromium'` is not an executable" in out
    assert "apt-get install chromium" in out and "pip install -e '.[browser]'" in out
    assert "plain: 3 found, 3 new" in out

    # Without the Python package (the extra not installed): the same, naming it.
    other = tmp_path / "no-playwright"
    other.mkdir()
    config = _config(other, body)
    code = "import sys; sys.modules['playwright'] = None; from aggregator.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "poll", "--once", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "rendered: FAILED browser: Playwright is not installed; `render` needs the browser extra" in done.stdout
    assert "plain: 3 found, 3 new" in done.stdout
    assert "Traceback" not in done.stderr


def test_try_render_prints_the_rendered_list(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list/", _script_list(200))
    assert main(["try", site.url("/list/"), "--render", "--wait-for", "#list li"]) == 0
    out = capsys.readouterr().out
    assert "list " + site.url("/list/") + ": 3 items" in out
    assert "read in the browser: render = true" in out and "生态环境执法典型案例通报" in out


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('render = true\nkind = "json"\n[sources.json]\nitems = "data"', 'with kind = "json" use render = "auto"'),
        ('wait_for = "#list li"', "`wait_for` is read only with render"),
        ('render = "sometimes"', "render"),
    ],
)
def test_bad_render_keys_are_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, message: str) -> None:
    config = _config(tmp_path, f'[[sources]]\nname = "x"\nurl = "https://example.org/"\n{source}\n')
    assert main(["check", str(config)]) == 2
    assert message in capsys.readouterr().err


def test_nothing_is_started_for_sources_without_render(tmp_path: Path, site: Site) -> None:
    site.add("/list/", STATIC_LIST)
    _add_articles(site)
    config = load_config(_config(tmp_path, f'[[sources]]\nname = "plain"\nurl = "{site.url("/list/")}"\nkind = "html"\n'))

    async def scenario() -> object:
        async with fetcher_for(config) as fetcher:
            with open_store(config.store_path) as store:
                report = await poll_source(config.sources[0], config, fetcher, store, now=lambda: datetime.now(timezone.utc))
                assert fetcher.browser is None
                return report

    assert asyncio.run(scenario()).ok


def test_at_most_render_concurrency_pages_are_in_the_browser_at_once(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = threading.Condition()
    active = [0, 0]  # in flight now, most at once

    def list_page(request: Request) -> Response:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
            lock.notify_all()
            # Hold the page until a third one arrives (it never should) or a second passes.
            lock.wait_for(lambda: active[0] >= 3, timeout=1.0)
            active[0] -= 1
        return Response(STATIC_LIST.encode())

    sources = ""
    for n in range(4):
        site.add(f"/col{n}/", list_page)
        sources += f'\n[[sources]]\nname = "col{n}"\nurl = "{site.url(f"/col{n}/")}"\nkind = "html"\nrender = true\nfetch_articles = false\n'
    config = _config(tmp_path, sources, settings="render_concurrency = 2\nhost_concurrency = 4")
    assert main(["poll", "--once", str(config)]) == 0
    assert capsys.readouterr().out.count("3 found") == 4  # the same rows in every column: reposts after the first
    assert active[1] == 2


def test_the_browser_closes_when_idle_and_starts_again_on_use(site: Site) -> None:
    import psutil

    from aggregator.infra.browser import Browser
    from aggregator.fetch import Fetcher

    site.add("/list/", _script_list(0))

    async def scenario() -> tuple[int, bool, int]:
        fetcher = Fetcher(user_agent="test", host_delay=0)
        browser = fetcher.browser = Browser(idle=0.2)
        try:
            first = await browser.render(site.url("/list/"), fetcher, wait_for="#list li")
            assert "生态环境执法典型案例通报" in first.result.body.decode()
            pid = browser.pid
            assert pid is not None and psutil.pid_exists(pid)
            for _ in range(200):  # closed by its idle timer, not by us
                if not browser.running and browser.pid is None:
                    break
                await asyncio.sleep(0.05)
            gone = not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
            await browser.render(site.url("/list/"), fetcher, wait_for="#list li")
            return pid, gone, browser.launches
        finally:
            await fetcher.aclose()

    pid, gone, launches = asyncio.run(scenario())
    assert gone, f"the idle browser (pid {pid}) was not closed"
    assert launches == 2


def test_a_posted_list_behind_a_challenge_is_posted_over_http_once_the_browser_passed_it(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str], post_kind: None
) -> None:
    guard = Challenge(site)
    listed, shell = guard.page(STATIC_LIST), guard.page("<html><body><form>search form only</form></body></html>")
    site.add("/list/", lambda request: listed(request) if request.body == b"channel=42&page=1" else shell(request))
    _add_articles(site)
    config = _config(
        tmp_path,
        f"""
[[sources]]
name = "posted"
url = "{site.url('/list/')}"
kind = "post-list"
render = "auto"
[sources.list]
item = "ul.news > li"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    out = capsys.readouterr().out
    assert "posted: 3 found, 3 new" in out and "HTTP 412 with a `$_ts` challenge script" in out
    hits = site.hits("/list/")
    # httpx's POST got the 412; the browser can only GET: it passed the challenge, then httpx posted again.
    assert [(r.method, _by_browser(r)) for r in hits] == [("POST", False), ("GET", True), ("GET", True), ("POST", False)]
    assert hits[3].body == b"channel=42&page=1" and "ts_clearance=pass-1" in hits[3].headers["cookie"]
