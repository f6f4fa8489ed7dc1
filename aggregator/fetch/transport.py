"""Transport: a source asks for a page and gets one, whatever it took, or a typed error.

What it can take: plain HTTP with the source's network options (proxy, referer, warm-up,
cookies: `Fetcher`), and for a `render` source the headless browser (`infra.browser`):
- `render = true`: the source's own page is loaded and rendered in the browser;
- `render = "auto"`: plain HTTP first; when that meets a block or challenge page, the
  browser loads the page instead.
A request the browser cannot make as asked (an API answer or a feed, a POST) only has the
browser pass the challenge, and is then sent again over HTTP with the cookies it got.
Article pages go over HTTP; one refused sends the browser for fresh cookies (once per host
at a time), then it is asked again. Further pages (older list pages, an iframe, a linked
feed, documents) go over HTTP with whatever cookies the jar holds.

Readers and enrichment ask for pages through a `Transport` and never learn which way
they came; the poll's report says so through `rendered`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import Settings, Source
from ..models import ErrorKind, FetchResult, Request, SourceError, Validators
from .http import Fetcher

if TYPE_CHECKING:
    from ..infra.browser import Browser, Rendered

log = logging.getLogger(__name__)


class Transport:
    """The pages of one source, for one poll or one `try`."""

    def __init__(self, fetcher: Fetcher, source: Source, settings: Settings) -> None:
        self._fetcher = fetcher
        self._source = source
        self._settings = settings
        self.rendered: str | None = None  # why the browser was needed (None: everything came over HTTP)

    async def source_page(self, request: Request, validators: Validators | None = None) -> FetchResult:
        """The source's own page; with `validators`, `not_modified` says whether it changed since."""
        options = self._options(request)
        if validators is not None:
            options |= {"previous_hash": validators.body_hash, "track_body": True}
            if request.method == "GET":  # on a POST, a matching If-None-Match means 412, not 304
                options |= {"etag": validators.etag, "last_modified": validators.last_modified}
        source = self._source
        if not source.render:
            return await self._fetcher.fetch(request.url, **options)
        browser = self._browser()
        if source.render is True:
            why = "render = true"
        else:
            try:
                return await self._fetcher.fetch(request.url, **options)
            except SourceError as exc:
                if exc.kind is not ErrorKind.ANTI_BOT:
                    raise
                why = f'render = "auto" and plain HTTP got {exc.message.split(" from ")[0]}'
        if not (request.page and request.method == "GET"):
            # The browser can only GET a page: it passes the challenge, and HTTP asks as the reader asked.
            passed = await self._pass_challenge(browser, request.url)
            result = await self._fetcher.fetch(request.url, **options)
            self.rendered = why + _passed(passed)
            return result
        wait_for = source.wait_for or (source.list_selectors.item if source.list_selectors else None)
        rendered = await browser.render(request.url, self._fetcher, wait_for=wait_for, **self._browser_options())
        if rendered.challenge:
            browser.passed_at[_origin(request.url)] = time.monotonic()
        result = rendered.result
        if validators is not None:
            digest = hashlib.sha256(result.body).hexdigest()
            result = replace(result, body_hash=digest, not_modified=digest == validators.body_hash)
        log.info("%s: %s rendered in the browser in %.1fs (%s)", source.name, request.url, rendered.seconds, why)
        self.rendered = why + _passed(rendered)
        return result

    async def page(self, request: Request) -> FetchResult:
        """A further page of the source (older list pages, an iframe, a linked feed, a document)."""
        return await self._fetcher.fetch(request.url, **self._options(request))

    async def article(self, url: str) -> FetchResult:
        """A row's own page; for a `render` source, a refused one sends the browser for fresh cookies first."""
        options = self._options(Request(url))
        try:
            return await self._fetcher.fetch(url, **options)
        except SourceError as exc:
            if not self._source.render or exc.kind is not ErrorKind.ANTI_BOT:
                raise
            log.info("%s: %s refused the cookies (%s); passing the challenge in the browser", self._source.name, url, exc.message)
        passed = await self._pass_challenge(self._browser(), url)
        self.rendered = self.rendered or f"{url} was refused over HTTP" + _passed(passed)
        return await self._fetcher.fetch(url, **options)

    def _options(self, request: Request) -> dict[str, Any]:
        """The request with every network option of the source (None: the [settings] default, in the Fetcher)."""
        source = self._source
        options: dict[str, Any] = {
            "headers": {**source.headers, **request.headers},
            "respect_robots": source.respect_robots,
            "proxy": source.proxy,
            "referer": source.referer,
            "warmup": source.warmup,
            "cookies": source.cookies,
            "method": request.method,
            "data": request.form,
            "content": request.body,
        }
        if request.accept is not None:
            options["accept"] = request.accept
        return options

    # The browser is made on first need and kept on the fetcher: one per process, closed with it.

    def _browser(self) -> Browser:
        from ..infra.browser import Browser

        if self._fetcher.browser is None:
            s = self._settings
            self._fetcher.browser = Browser(
                executable=s.browser, concurrency=s.render_concurrency, timeout=s.timeout, max_bytes=s.max_bytes
            )
        return self._fetcher.browser

    def _browser_options(self) -> dict[str, Any]:
        """The source's network options as the browser takes them (None: the [settings] default, as in the Fetcher)."""
        source, fetcher = self._source, self._fetcher
        proxy = (fetcher.proxy if source.proxy is None else source.proxy) or None
        referer = (fetcher.referer if source.referer is None else source.referer) or None
        headers = {**({"Referer": referer} if referer else {}), **source.headers}
        return {"proxy": proxy, "headers": headers, "respect_robots": source.respect_robots}

    async def _pass_challenge(self, browser: Browser, url: str) -> Rendered | None:
        """Visit `url` in the browser for the cookies its challenge hands out; once per host at a time."""
        origin = _origin(url)
        asked = time.monotonic()
        async with browser.pass_lock(origin):
            if browser.passed_at.get(origin, float("-inf")) > asked:
                return None  # another page of this host just got them
            rendered = await browser.render(url, self._fetcher, **self._browser_options())
            browser.passed_at[origin] = time.monotonic()
            log.info("%s: %s: the browser got past %s", self._source.name, url, rendered.challenge or "no challenge")
            return rendered


def _passed(rendered: Rendered | None) -> str:
    return f"; it got past {rendered.challenge}" if rendered and rendered.challenge else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
