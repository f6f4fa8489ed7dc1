"""The headless browser for pages only a browser can read (`render` sources).

Lists built by a script after load (Vue apps, 江西's news column) and JavaScript
cookie challenges (瑞数 412 + `$_ts`, 加速乐 521 + `__jsl_clearance`, CDN checks)
defeat plain HTTP. For those sources the list page is loaded in the system's
Chromium, driven by Playwright's async API over a pipe, so the event loop keeps
fetching and serving while a page renders. The rendered DOM goes to the same
extractors as any HTML page.

Bounded on purpose, since a browser is the most expensive thing the daemon runs:
one browser process, started on first use and closed after IDLE_SECONDS unused;
at most `render_concurrency` pages at once; each page within the fetch timeout
and the byte cap; images, fonts and media never requested; a visit counts as a
request of its host (slot, robots.txt, spacing). A crashed or hung browser is
killed (the whole process tree, by the pid we started) and started again on the
next use; the failure is that one source's error.

The cookies a visit ends with go into the fetcher's jar (with the browser's
User-Agent, to which challenge cookies are bound), so article pages and later
polls are plain httpx requests until the site refuses them again.

Playwright is an optional extra; without it (or without Chromium) a `render`
source fails with a message saying what to install, and nothing else changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..fetch.blocks import block_reason
from ..models import ErrorKind, FetchResult, SourceError

if TYPE_CHECKING:
    from ..fetch.http import Fetcher

log = logging.getLogger(__name__)

# Without the background-networking flags Chromium keeps calling Google's services,
# which on a closed network is a stream of refused connections.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--disable-breakpad",  # no crash reporter processes, no crash dumps in the home directory
    "--disable-crash-reporter",
)
WATCH_SECONDS = 0.5  # how often a visit checks that the browser process still lives
IDLE_SECONDS = 120.0  # an unused browser is closed after this long
SKIPPED_RESOURCES = frozenset({"image", "font", "media"})
MAX_NAVIGATIONS = 4  # a challenge reloads the page once or twice; more is a loop
# Beyond the page's own time limit, how long the browser may take to answer before it counts as hung.
HUNG_GRACE = 10.0
INSTALL_HINT = (
    "`render` needs the browser extra: `pip install -e '.[browser]'` (Playwright's Python package) and the"
    " system Chromium (`apt-get install chromium`); Playwright's own browser download is not used"
)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One browser visit: the rendered page, as a FetchResult, and what it handed over."""

    result: FetchResult
    cookies: int  # cookies new or changed in the fetcher's jar
    challenge: str | None  # the block or challenge page the browser got past, if any
    seconds: float


def find_chromium(configured: str | None) -> str:
    """The Chromium executable: the `browser` setting, else `chromium` (Debian) on PATH."""
    if configured:
        path = shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
        if path is None:
            raise SourceError(ErrorKind.BROWSER, f"`browser = {configured!r}` is not an executable; {INSTALL_HINT}")
        return path
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise SourceError(ErrorKind.BROWSER, f"no Chromium on PATH (or set `browser` in [settings]); {INSTALL_HINT}")


class Browser:
    """One headless Chromium for the process, shared by every `render` source."""

    def __init__(
        self,
        *,
        executable: str | None = None,
        concurrency: int = 2,
        timeout: float = 30.0,
        max_bytes: int = 10 * 1024 * 1024,
        idle: float = IDLE_SECONDS,
    ) -> None:
        self.executable = executable
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.idle = idle
        self._slots = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self.pid: int | None = None  # the browser process we started (its renderers are its children)
        self._profile: str | None = None  # its --user-data-dir, named by every process of it
        self.user_agent = ""
        self.launches = 0
        self.visits = 0
        self._in_flight = 0
        self._last_used = time.monotonic()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_task: asyncio.Task[None] | None = None
        # A challenge refused on an article page is passed once per host, not once per page.
        self._pass_locks: dict[str, asyncio.Lock] = {}
        self.passed_at: dict[str, float] = {}

    @property
    def running(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def render(
        self,
        url: str,
        fetcher: Fetcher,
        *,
        wait_for: str | None = None,
        proxy: str | None = None,
        headers: Mapping[str, str] | None = None,
        respect_robots: bool = True,
    ) -> Rendered:
        """Load `url` in the browser, wait until it is ready, and return its DOM; cookies go to `fetcher`."""
        async with self._slots:
            self._in_flight += 1
            try:
                async with fetcher.host_turn(url, proxy=proxy, respect_robots=respect_robots):
                    browser = await self._ensure()
                    started = time.monotonic()
                    try:
                        async with asyncio.timeout(self.timeout + HUNG_GRACE):
                            result, cookies, challenge = await self._watched(
                                self._visit(browser, url, fetcher, wait_for, proxy, headers), url
                            )
                    except TimeoutError:
                        # Playwright's own time limits did not fire: the browser itself stopped answering.
                        await self._kill()
                        raise SourceError(
                            ErrorKind.TIMEOUT,
                            f"{url}: the browser did not answer within {self.timeout + HUNG_GRACE:g}s; it was stopped"
                            " and starts again at the next use",
                        ) from None
                    except SourceError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - Playwright's errors are plain Exceptions
                        raise await self._failure(url, exc) from None
                self.visits += 1
                return Rendered(result, cookies, challenge, time.monotonic() - started)
            finally:
                self._in_flight -= 1
                self._last_used = time.monotonic()
                self._arm_idle_timer()

    async def _watched(self, visit: Any, url: str) -> Any:
        """Run `visit` while watching the browser process: Playwright may not notice a killed browser
        whose child processes still hold its pipe, and would wait out the whole time limit."""
        task = asyncio.ensure_future(visit)
        pid = self.pid
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=WATCH_SECONDS)
                if done:
                    return task.result()
                if pid is not None and not _alive(pid):
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    await self._kill()
                    raise SourceError(
                        ErrorKind.BROWSER, f"{url}: the browser crashed (its process {pid} died); it starts again at the next use"
                    )
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def pass_lock(self, origin: str) -> asyncio.Lock:
        return self._pass_locks.setdefault(origin, asyncio.Lock())

    async def _visit(
        self,
        browser: Any,
        url: str,
        fetcher: Fetcher,
        wait_for: str | None,
        proxy: str | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[FetchResult, int, str | None]:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        deadline = time.monotonic() + self.timeout

        def left_ms() -> float:
            return max(1.0, (deadline - time.monotonic()) * 1000)

        extra = {k: v for k, v in (headers or {}).items() if k.lower() != "user-agent"}
        context = await browser.new_context(
            user_agent=self.user_agent,
            locale="zh-CN",
            proxy={"server": proxy} if proxy else None,
            extra_http_headers=extra or None,
            service_workers="block",
        )
        try:
            known = fetcher.browser_cookies(url)
            if known:
                await context.add_cookies(known)
            await context.route("**/*", _skip_heavy)
            page = await context.new_page()
            statuses: list[int] = []  # of each document the main frame loaded

            def on_response(response: Any) -> None:
                if response.frame == page.main_frame and response.request.is_navigation_request():
                    statuses.append(response.status)

            page.on("response", on_response)
            challenge: str | None = None
            what = f"`wait_for` selector {wait_for!r}" if wait_for else "the network to settle"
            try:
                try:
                    await page.goto(url, wait_until="load", timeout=left_ms())
                except PlaywrightTimeout:
                    raise
                except Exception as exc:  # noqa: BLE001
                    # A challenge script that reloads at once interrupts the first navigation.
                    if "interrupted by another navigation" not in str(exc):
                        raise
                for _ in range(MAX_NAVIGATIONS):
                    if wait_for:
                        await page.wait_for_selector(f"css={wait_for}", state="attached", timeout=left_ms())
                    else:
                        await page.wait_for_load_state("networkidle", timeout=left_ms())
                    html = await page.content()
                    status = statuses[-1] if statuses else 200
                    seen = block_reason(status, html.encode("utf-8", "replace"))
                    if seen is None:
                        break
                    challenge = challenge or seen
                    # Still the challenge page: its script is working; wait for the document it loads.
                    await page.wait_for_event("framenavigated", predicate=lambda f: f == page.main_frame, timeout=left_ms())
                    await page.wait_for_load_state("load", timeout=left_ms())
                else:
                    raise SourceError(
                        ErrorKind.ANTI_BOT, f"{url}: the browser did not get past {challenge} ({MAX_NAVIGATIONS} reloads)"
                    )
            except PlaywrightTimeout:
                if challenge:
                    raise SourceError(
                        ErrorKind.ANTI_BOT, f"{url}: the browser did not get past {challenge} within {self.timeout:g}s"
                    ) from None
                hint = "" if wait_for else "; set `wait_for` to a selector of the list"
                raise SourceError(
                    ErrorKind.TIMEOUT, f"{url}: the rendered page was not ready within {self.timeout:g}s (waiting for {what}){hint}"
                ) from None
            if statuses and statuses[-1] >= 400:
                raise SourceError(ErrorKind.HTTP_STATUS, f"{url}: HTTP {statuses[-1]} (in the browser)", status=statuses[-1])
            body = html.encode("utf-8")
            if len(body) > self.max_bytes:
                raise SourceError(ErrorKind.TOO_LARGE, f"{url}: the rendered page exceeds the {self.max_bytes:,}-byte cap")
            final_url = page.url
            cookies = fetcher.take_browser_cookies(url, await context.cookies(), self.user_agent)
        finally:
            await context.close()
        if challenge:
            log.info("%s: the browser got past %s; %d cookie(s) handed to plain requests", url, challenge, cookies)
        return (
            FetchResult(url=final_url, status=200, body=body, content_type="text/html", charset="utf-8"),
            cookies,
            challenge,
        )

    async def _failure(self, url: str, exc: Exception) -> SourceError:
        """A Playwright error as the source's error; a dead browser is cleared for a fresh start."""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not self.running:
            await self._kill()
            return SourceError(
                ErrorKind.BROWSER, f"{url}: the browser crashed ({message}); it starts again at the next use"
            )
        if "net::ERR_" in message:
            return SourceError(ErrorKind.NETWORK, f"{url}: {message} (in the browser)")
        return SourceError(ErrorKind.BROWSER, f"{url}: {message}")

    async def _ensure(self) -> Any:
        async with self._start_lock:
            if self.running:
                return self._browser
            if self._browser is not None or self._playwright is not None:
                await self._kill()  # crashed since the last visit
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                raise SourceError(ErrorKind.BROWSER, f"Playwright is not installed; {INSTALL_HINT}") from None
            executable = find_chromium(self.executable)
            marker = f"--aggregator-browser={os.getpid()}-{id(self)}-{self.launches}"
            try:
                self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=executable,
                    args=[*CHROMIUM_ARGS, marker],
                    timeout=self.timeout * 1000,
                    # The daemon handles its own signals (SIGHUP reloads); the browser must not die of them.
                    handle_sigint=False,
                    handle_sigterm=False,
                    handle_sighup=False,
                )
            except Exception as exc:  # noqa: BLE001
                self.pid = _find_pid(marker)
                await self._kill()
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise SourceError(ErrorKind.BROWSER, f"Chromium ({executable}) did not start: {first}; {INSTALL_HINT}") from None
            self.launches += 1
            self.pid = _find_pid(marker)
            self._profile = _profile_of(self.pid)
            major = (self._browser.version or "0").split(".")[0]
            # Chromium's own UA says HeadlessChrome, which challenge scripts refuse.
            self.user_agent = (
                f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"
            )
            log.info("started the headless browser %s (Chromium %s, pid %s)", executable, self._browser.version, self.pid)
            return self._browser

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(self.idle, self._on_idle)

    def _on_idle(self) -> None:
        self._idle_timer = None
        if self._in_flight or time.monotonic() - self._last_used < self.idle or self._browser is None:
            return
        self._idle_task = asyncio.ensure_future(self._close_if_idle())

    async def _close_if_idle(self) -> None:
        async with self._start_lock:
            if self._in_flight == 0 and self._browser is not None:
                log.info("closing the headless browser after %gs unused", self.idle)
                await self._close()

    async def _close(self) -> None:
        """Close politely, within a time limit; a browser that does not close is killed."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            async with asyncio.timeout(10):
                if browser is not None:
                    await browser.close()
                if playwright is not None:
                    await playwright.stop()
        except Exception:  # noqa: BLE001 - closing a broken browser; killing follows
            pass
        _kill_tree(self.pid, self._profile)
        self.pid = None

    async def _kill(self) -> None:
        """Kill the browser's processes (by the pid we started), then drop Playwright's handles."""
        _kill_tree(self.pid, self._profile)
        self.pid = None
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            async with asyncio.timeout(5):
                if browser is not None:
                    await browser.close()
        except Exception:  # noqa: BLE001 - it is already dead
            pass
        try:
            async with asyncio.timeout(5):
                if playwright is not None:
                    await playwright.stop()
        except Exception:  # noqa: BLE001
            pass

    async def aclose(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._browser is not None or self._playwright is not None:
            await self._close()

    def memory(self) -> int:
        """Memory of the browser and its child processes, in bytes (0 when not running)."""
        import psutil

        if self.pid is None:
            return 0
        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                # PSS: the processes share Chromium's code and buffers, which RSS would count once per process.
                total += process.memory_full_info().pss
            except (psutil.Error, AttributeError):
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
        return total


async def _skip_heavy(route: Any) -> None:
    """Images, fonts and media are never fetched: lists do not need them, and they are most of a page's bytes."""
    if route.request.resource_type in SKIPPED_RESOURCES:
        await route.abort("blockedbyclient")
    else:
        await route.continue_()


def _find_pid(marker: str) -> int | None:
    """The browser process started with `marker` (Debian's wrapper script execs it, so it is that process)."""
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        try:
            if marker in (process.info.get("cmdline") or []):
                return process.pid
        except psutil.Error:
            continue
    return None


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _profile_of(pid: int | None) -> str | None:
    import psutil

    try:
        cmdline = psutil.Process(pid).cmdline() if pid is not None else []
    except psutil.Error:
        return None
    return next((arg for arg in cmdline if arg.startswith("--user-data-dir=")), None)


def _kill_tree(pid: int | None, profile: str | None = None) -> None:
    """Kill the browser and every process of it: its children, and those left orphaned when it died
    (found by the profile directory they all name)."""
    import psutil

    processes: list[psutil.Process] = []
    if pid is not None:
        try:
            root = psutil.Process(pid)
            processes += [*root.children(recursive=True), root]
        except psutil.Error:
            pass
    if profile:
        for process in psutil.process_iter(["cmdline"]):
            try:
                if profile in (process.info.get("cmdline") or []) and process not in processes:
                    processes.append(process)
            except psutil.Error:
                continue
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(processes, timeout=5)
