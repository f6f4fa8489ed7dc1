"""The HTTP client of the fetch stage: polite HTTP with hard limits.

Every request has an overall deadline (a server that drips one byte a second
never trips httpx's per-read timeout), a cap on decoded bytes (which also
stops gzip bombs), conditional GET, per-host concurrency and spacing, and
robots.txt. Failures are raised as typed `SourceError`s.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import http.cookiejar
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from protego import Protego

from ..config import Config
from ..infra.atomicfile import replace_file
from ..models import ErrorKind, FetchResult, SourceError
from .blocks import BLOCK_HINT, block_reason

log = logging.getLogger(__name__)

ROBOTS_TTL = 6 * 3600.0
# A host's client (and its kept-alive connection) is closed after this long unused:
# a daemon meets ever more hosts (reposts link to other sites), and an idle pool is
# only cleaned when that same host is asked again.
IDLE_CLIENT_SECONDS = 120.0
MAX_REDIRECTS = 5
# After a 403/429 burst a host's spacing doubles, starting from at least this.
MIN_SLOWDOWN = 1.0
# This many answers in a row without a 403/429 halve a slowed-down host's spacing again.
SPEED_UP_AFTER = 10
# A warm-up whose cookies carry no expiry is repeated after this long (and whenever refused).
WARMUP_TTL = 30 * 60.0
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now_dt = datetime.fromtimestamp(now, timezone.utc) if now is not None else datetime.now(timezone.utc)
    return max(0.0, (when - now_dt).total_seconds())


class _Cookies(httpx.Cookies):
    """httpx.Cookies that reads Set-Cookie only when a response has one.

    httpx hands every response to http.cookiejar, which first builds an
    email.message view of all its headers: ~8% of a request's CPU here, for the
    few responses that set a cookie.
    """

    def __init__(self, jar: http.cookiejar.CookieJar, on_set: Callable[[], None]) -> None:
        super().__init__(jar)
        self._on_set = on_set

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)
            self._on_set()


@dataclass
class _Host:
    semaphore: asyncio.Semaphore
    client: httpx.AsyncClient | None = None  # opened on use, closed when idle
    in_flight: int = 0
    last_request: float = float("-inf")
    robots: Protego | None = None
    robots_fetched: float = float("-inf")
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    proxy: str | None = None  # every request of this entry goes through it
    slowdown: float = 0.0  # spacing forced by a 403/429 burst; 0 when the host is fine
    answered: int = 0  # answers without a 403/429 since the last slow-down (or ever)
    seeded: dict[str, str] = field(default_factory=dict)  # configured cookies already put in the jar


@dataclass
class _Warmup:
    cookies: frozenset[tuple[str, str, str]]  # (domain, path, name) it set
    expires: float  # wall-clock time when the first of them runs out


class Fetcher:
    """A client per host, sharing one cookie jar and one TLS context.

    One pool for all hosts would scan every pooled connection on each request
    (httpcore checks each for expiry with syscalls); with a pool per host that
    scan is one connection, which cut httpx's CPU per request by about a third.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 30.0,
        max_bytes: int = 10 * 1024 * 1024,
        host_concurrency: int = 1,
        host_delay: float = 1.0,
        concurrency: int = 16,
        clock: Callable[[], float] = time.monotonic,
        cookie_file: Path | None = None,
        host_delay_max: float = 60.0,
        proxy: str | None = None,
        referer: str | None = None,
        warmup: str | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> None:
        self.user_agent = user_agent
        self.host_delay_max = host_delay_max
        # Defaults for requests that do not name their own ("" in a request: none).
        self.proxy, self.referer, self.warmup = proxy or None, referer or None, warmup or None
        self.cookies = dict(cookies or {})
        self._warmups: dict[str, _Warmup] = {}
        self._warmup_locks: dict[str, asyncio.Lock] = {}
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.host_concurrency = host_concurrency
        self.host_delay = host_delay
        self.clock = clock
        self._hosts: dict[str, _Host] = {}
        # Some gov sites set a session cookie and expect it back, also after a restart.
        self.cookie_file = cookie_file
        self._cookies = http.cookiejar.LWPCookieJar()
        if cookie_file is not None and cookie_file.exists():
            try:
                self._cookies.load(str(cookie_file), ignore_discard=True)
            except (OSError, http.cookiejar.LoadError) as exc:
                log.warning("ignoring unreadable cookie file %s: %s", cookie_file, exc)
        self._saved_cookies = self._cookies.as_lwp_str(ignore_discard=True)
        # Set when a response sets a cookie: writing the jar out to compare costs
        # O(cookies), too much for every request.
        self._cookies_may_differ = False
        # Loading the CA bundle takes ~15 ms of CPU; once per process, not once per host.
        self._tls = httpx.create_ssl_context()
        self._gate = asyncio.Semaphore(concurrency)  # requests in flight over all hosts
        self.requests_made = 0
        self._last_sweep = clock()
        # The headless browser of `render` sources (aggregator.infra.browser.Browser), made on first use.
        self.browser: Any = None
        # origin -> the User-Agent of the browser that got this origin's cookies: challenge
        # cookies are bound to it, so the httpx requests that use them send it too.
        self._browser_agents: dict[str, str] = {}

    def _new_client(self, proxy: str | None = None) -> httpx.AsyncClient:
        # Redirects to another host go through this host's client; its pool makes room.
        slots = max(1, self.host_concurrency)
        client = httpx.AsyncClient(
            proxy=proxy,  # HTTP(S), or SOCKS through httpx's socksio support
            cookies=self._cookies,
            verify=self._tls,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
            limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            headers={"User-Agent": self.user_agent, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
        )
        # The client keeps its Cookies privately; should that change, the stock one
        # (same jar) is used and only the saving is lost.
        client._cookies = _Cookies(self._cookies, self._cookie_was_set)  # noqa: SLF001
        return client

    async def aclose(self) -> None:
        if self.browser is not None:
            await self.browser.aclose()
        hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            if host.client is not None:
                await host.client.aclose()
        self.save_cookies()

    def _cookie_was_set(self) -> None:
        self._cookies_may_differ = True

    def save_cookies(self) -> None:
        self._cookies_may_differ = False
        if self.cookie_file is None:
            return
        current = self._cookies.as_lwp_str(ignore_discard=True)
        if current != self._saved_cookies:
            replace_file(self.cookie_file, ("#LWP-Cookies-2.0\n" + current).encode(), mode=0o600)
            self._saved_cookies = current

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _host(self, url: str, proxy: str | None = None) -> _Host:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        # Through a proxy a site sees another client: its own slot, pacing and connection.
        key = f"{origin} via {proxy}" if proxy else origin
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self.host_concurrency), proxy=proxy)
        return host

    async def _close_idle_clients(self) -> None:
        """Close the clients of hosts unused for IDLE_CLIENT_SECONDS; their robots.txt stays cached."""
        now = self.clock()
        if now - self._last_sweep < IDLE_CLIENT_SECONDS / 2:
            return
        self._last_sweep = now
        for host in list(self._hosts.values()):  # closing awaits; fetches may add hosts meanwhile
            if host.client is not None and not host.in_flight and now - host.last_request > IDLE_CLIENT_SECONDS:
                client, host.client = host.client, None
                await client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        proxy: str | None = None,
        referer: str | None = None,
        warmup: str | None = None,
        cookies: Mapping[str, str] | None = None,
        **options: Any,
    ) -> FetchResult:
        """One request, with the network options of its source (None: the defaults; "": none).

        A configured warm-up page is fetched first for its cookies, and again when they
        expire or the site refuses them. A 403/429 from a host that answered before is a
        burst: the host's spacing doubles (up to host_delay_max) and the request is sent
        once more instead of failing.
        """
        proxy = (self.proxy if proxy is None else proxy) or None
        referer = (self.referer if referer is None else referer) or None
        warmup = (self.warmup if warmup is None else warmup) or None
        if referer:
            options["headers"] = {"Referer": referer, **(options.get("headers") or {})}
        agent = self._browser_agents.get(_origin(url)) if self._browser_agents else None
        if agent:
            options["headers"] = {"User-Agent": agent, **(options.get("headers") or {})}
        host = self._host(url, proxy)
        if self.cookies or cookies:
            self._seed_cookies(url, host, {**self.cookies, **(cookies or {})})
        warm = {"proxy": proxy, "headers": options.get("headers"), "respect_robots": options.get("respect_robots", True)}
        if warmup:
            await self._warm_up(warmup, **warm)
        try:
            return await self._fetch_once(url, proxy=proxy, **options)
        except SourceError as exc:
            refused = exc.kind is ErrorKind.ANTI_BOT or exc.status in (401, 403, 412)
            if warmup and refused:
                log.info("%s refused (%s); visiting the warm-up page %s again", url, exc.message, warmup)
                await self._warm_up(warmup, **warm, force=True)
            elif exc.status in (403, 429) and host.answered and (exc.retry_after or 0) <= self.host_delay_max:
                self._slow_down(host, url, exc.retry_after)
            else:
                raise
            return await self._fetch_once(url, proxy=proxy, **options)

    def _slow_down(self, host: _Host, url: str, retry_after: float | None) -> None:
        doubled = 2 * max(host.slowdown, self.host_delay)
        host.slowdown = min(self.host_delay_max, max(doubled, MIN_SLOWDOWN, retry_after or 0))
        host.answered = 0
        log.warning("%s: HTTP 403/429 in a burst; %s is now asked at most every %gs", url, urlsplit(url).netloc, host.slowdown)

    def _seed_cookies(self, url: str, host: _Host, cookies: Mapping[str, str]) -> None:
        """Configured cookies go in the jar (not a Cookie header, which would hide the jar's)."""
        domain = urlsplit(url).hostname or ""
        for name, value in cookies.items():
            if host.seeded.get(name) != value:
                httpx.Cookies(self._cookies).set(name, value, domain=domain, path="/")
                host.seeded[name] = value

    def _cookie_keys(self) -> dict[tuple[str, str, str], tuple[str | None, float | None]]:
        return {(c.domain, c.path, c.name): (c.value, c.expires) for c in self._cookies}

    async def _warm_up(
        self, url: str, *, proxy: str | None, headers: Mapping[str, str] | None, respect_robots: bool, force: bool = False
    ) -> None:
        """Visit `url` for the cookies a site hands out there, unless those are still valid."""
        lock = self._warmup_locks.setdefault(url, asyncio.Lock())
        async with lock:  # the list and its article pages want the same cookies: one visit
            known = self._warmups.get(url)
            if not force and known is not None and not self._warmup_expired(known):
                return
            before = self._cookie_keys()
            try:
                await self._fetch_once(url, proxy=proxy, headers=headers, respect_robots=respect_robots)
            except SourceError as exc:
                message = f"warm-up page: {exc.message}"
                raise SourceError(exc.kind, message, retry_after=exc.retry_after, status=exc.status) from None
            after = self._cookie_keys()
            got = {key: value for key, value in after.items() if before.get(key) != value}
            if not got:
                log.info("the warm-up page %s set no cookie", url)
            expiries = [expires for _value, expires in got.values() if expires]
            self._warmups[url] = _Warmup(frozenset(got), min(expiries) if expiries else time.time() + WARMUP_TTL)

    def _warmup_expired(self, warmup: _Warmup) -> bool:
        if time.time() >= warmup.expires:
            return True
        present = {(c.domain, c.path, c.name) for c in self._cookies}
        return not warmup.cookies <= present  # the site or the jar dropped one

    async def _fetch_once(
        self,
        url: str,
        *,
        proxy: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_hash: str | None = None,
        track_body: bool = False,
        headers: Mapping[str, str] | None = None,
        respect_robots: bool = True,
        method: str = "GET",
        data: Mapping[str, str] | None = None,
        accept: str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        content: bytes | None = None,  # a raw body (JSON APIs); Content-Type goes in `headers`
    ) -> FetchResult:
        request_headers = {"Accept": accept, **(headers or {})}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        await self._close_idle_clients()
        host = self._host(url, proxy)
        # robots.txt is fetched inside the host's slot too: never two requests at once
        # to a host limited to one, and always spaced.
        async with host.semaphore:
            if respect_robots and not await self._allowed(host, url):
                raise SourceError(ErrorKind.ROBOTS, f"robots.txt disallows {url} for our user agent")
            result = await self._paced(host, url, method, request_headers, data, content)
            host.answered += 1
            if host.slowdown and host.answered >= SPEED_UP_AFTER:
                host.slowdown = host.slowdown / 2 if host.slowdown / 2 > self.host_delay else 0.0
                host.answered = 0
        # Hashed only when asked: article pages are never compared, and hashing them all
        # cost the event loop ~1 s per 16,000 pages.
        if (track_body or previous_hash) and not result.not_modified:
            body_hash = hashlib.sha256(result.body).hexdigest()
            result = replace(result, body_hash=body_hash, not_modified=body_hash == previous_hash)
        if self._cookies_may_differ:
            self.save_cookies()
        return result

    async def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        headers: dict[str, str],
        data: Mapping[str, str] | None,
        content: bytes | None = None,
    ) -> FetchResult:
        self.requests_made += 1
        try:
            async with client.stream(method, url, headers=headers, data=data, content=content) as response:
                if response.status_code == 304:
                    return FetchResult(
                        url=str(response.url),
                        status=304,
                        body=b"",
                        etag=response.headers.get("ETag") or headers.get("If-None-Match"),
                        last_modified=response.headers.get("Last-Modified") or headers.get("If-Modified-Since"),
                        not_modified=True,
                    )
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise SourceError(
                        ErrorKind.TOO_LARGE, f"{url}: Content-Length {int(declared):,} exceeds the {self.max_bytes:,}-byte cap"
                    )
                chunks: list[bytes] = []
                size = 0
                # iter_bytes decompresses as it goes, so the cap also bounds gzip bombs.
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise SourceError(ErrorKind.TOO_LARGE, f"{url}: body exceeds the {self.max_bytes:,}-byte cap")
                    chunks.append(chunk)
                body = b"".join(chunks)
                status = response.status_code
                final_url = str(response.url)
                response_headers = response.headers
        except SourceError:
            raise
        except httpx.TooManyRedirects:
            raise SourceError(ErrorKind.NETWORK, f"{url}: more than {MAX_REDIRECTS} redirects (a redirect loop?)") from None
        except httpx.TimeoutException as exc:
            raise SourceError(ErrorKind.TIMEOUT, f"{url}: {type(exc).__name__}") from None
        except httpx.DecodingError as exc:
            raise SourceError(ErrorKind.NETWORK, f"{url}: bad content encoding ({exc})") from None
        except (httpx.HTTPError, OSError) as exc:
            raise SourceError(ErrorKind.NETWORK, f"{url}: {type(exc).__name__}: {exc}") from None

        blocked = block_reason(status, body)
        if blocked:
            raise SourceError(ErrorKind.ANTI_BOT, f"{blocked} from {url}; {BLOCK_HINT}", status=status)
        if status == 410:
            raise SourceError(ErrorKind.GONE, f"{url}: 410 Gone; the source was removed upstream", status=410)
        if status in (429, 503):
            retry = retry_after_seconds(response_headers.get("Retry-After"))
            raise SourceError(ErrorKind.HTTP_STATUS, f"{url}: HTTP {status}", retry_after=retry, status=status)
        if status >= 400:
            raise SourceError(ErrorKind.HTTP_STATUS, f"{url}: HTTP {status}", status=status)
        content_type = response_headers.get("Content-Type", "")
        match = _CHARSET.search(content_type)
        return FetchResult(
            url=final_url,
            status=status,
            body=body,
            content_type=content_type.split(";")[0].strip().lower(),
            charset=match.group(1) if match else None,
            etag=response_headers.get("ETag"),
            last_modified=response_headers.get("Last-Modified"),
        )

    async def _paced(
        self,
        host: _Host,
        url: str,
        method: str,
        headers: dict[str, str],
        data: Mapping[str, str] | None,
        content: bytes | None = None,
    ) -> FetchResult:
        """One request within the host's slot, spaced from the last and cut at the deadline."""
        wait = host.last_request + max(self.host_delay, host.slowdown) - self.clock()
        if wait > 0:
            await asyncio.sleep(wait)
        host.last_request = self.clock()
        if host.client is None:
            host.client = self._new_client(host.proxy)
        host.in_flight += 1
        try:
            async with self._gate, asyncio.timeout(self.timeout):  # a context, not wait_for's extra task
                return await self._request(host.client, method, url, headers, data, content)
        except TimeoutError:
            raise SourceError(ErrorKind.TIMEOUT, f"{url}: no complete answer within {self.timeout:g}s") from None
        finally:
            host.in_flight -= 1
            # Spacing counts from the end of a request, so slow hosts are not hammered.
            host.last_request = self.clock()

    async def _allowed(self, host: _Host, url: str) -> bool:
        async with host.robots_lock:
            if self.clock() - host.robots_fetched > ROBOTS_TTL:
                host.robots = await self._load_robots(host, url)
                host.robots_fetched = self.clock()
        if host.robots is None:
            return True
        return bool(host.robots.can_fetch(url, self.user_agent))

    async def _load_robots(self, host: _Host, url: str) -> Protego | None:
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        try:
            result = await self._paced(host, robots_url, "GET", {"Accept": "text/plain"}, None)
        except SourceError as exc:
            # 4xx means "no rules" (RFC 9309). We also allow on 5xx/network errors:
            # gov sites often fail robots.txt while serving pages fine.
            log.debug("robots.txt of %s unavailable (%s); allowing", parts.netloc, exc)
            return None
        return Protego.parse(result.body.decode("utf-8", "replace"))


    @asynccontextmanager
    async def host_turn(self, url: str, *, proxy: str | None = None, respect_robots: bool = True) -> AsyncIterator[None]:
        """A browser visit to `url` as one request of its host: its slot, robots.txt and spacing."""
        proxy = (self.proxy if proxy is None else proxy) or None
        host = self._host(url, proxy)
        async with host.semaphore:
            if respect_robots and not await self._allowed(host, url):
                raise SourceError(ErrorKind.ROBOTS, f"robots.txt disallows {url} for our user agent")
            wait = host.last_request + max(self.host_delay, host.slowdown) - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            host.in_flight += 1
            try:
                yield
            finally:
                host.in_flight -= 1
                host.last_request = self.clock()

    def browser_cookies(self, url: str) -> list[dict[str, Any]]:
        """The jar's cookies for `url`'s host, as Playwright takes them, so a browser visit carries them too."""
        hostname = (urlsplit(url).hostname or "").lower()
        now = time.time()
        found = []
        for cookie in self._cookies:
            domain = cookie.domain.lower().lstrip(".")
            if hostname != domain and not hostname.endswith("." + domain):
                continue
            if cookie.expires is not None and cookie.expires <= now:
                continue
            found.append({
                "name": cookie.name, "value": cookie.value or "", "domain": cookie.domain, "path": cookie.path or "/",
                "expires": float(cookie.expires) if cookie.expires else -1, "secure": bool(cookie.secure),
            })
        return found

    def take_browser_cookies(self, url: str, cookies: list[Mapping[str, Any]], user_agent: str) -> int:
        """Put the cookies a browser visit ended with in the jar (the challenge's pass); how many were new or changed."""
        known = self._cookie_keys()
        changed = 0
        for c in cookies:
            domain, path, expires = str(c["domain"]), str(c.get("path") or "/"), float(c.get("expires") or -1)
            if known.get((domain, path, c["name"]), (None,))[0] == c["value"]:
                continue
            self._cookies.set_cookie(http.cookiejar.Cookie(
                0, str(c["name"]), str(c["value"]), None, False, domain, True, domain.startswith("."), path, True,
                bool(c.get("secure")), int(expires) if expires > 0 else None, expires <= 0, None, None,
                {"HttpOnly": ""} if c.get("httpOnly") else {},
            ))
            changed += 1
        self._browser_agents[_origin(url)] = user_agent
        if changed:
            self._cookies_may_differ = True
            self.save_cookies()
        return changed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def fetcher_for(config: Config, *, persist_cookies: bool = True) -> Fetcher:
    """The one Fetcher a process uses, built from the config's settings.

    Cookies persist beside the store, so only commands that own the store keep them.
    """
    s = config.settings
    return Fetcher(
        user_agent=s.user_agent,
        timeout=s.timeout,
        max_bytes=s.max_bytes,
        host_concurrency=s.host_concurrency,
        host_delay=s.host_delay,
        concurrency=s.concurrency,
        host_delay_max=s.host_delay_max,
        proxy=s.proxy,
        referer=s.referer,
        warmup=s.warmup,
        cookies=s.cookies,
        cookie_file=config.store_path.with_name(config.store_path.name + ".cookies") if persist_cookies else None,
    )
