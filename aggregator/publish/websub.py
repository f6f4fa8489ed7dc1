"""WebSub publisher side: tell the hub which feeds changed, retrying until it hears.

With `[settings] websub_hub` set, every feed carries `<link rel="hub">` (publish
does that) and, after each publish that changed a feed, the daemon POSTs
`hub.mode=publish&hub.url=<feed url>` to the hub, one request per changed feed
(WebSub, W3C Recommendation, section 7: the publish ping itself is left to
implementations, and this form is what Superfeedr, Google's PubSubHubbub hub and
WebSub.rocks accept). Pings run in a background task on the daemon's loop, so a
slow or dead hub never delays a poll; a failed ping is retried with growing
delays, and a feed that changes again while its ping waits is pinged once.
Hand-written: it is one form POST with httpx; no maintained Python WebSub
publisher library exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from .atom import feed_url

log = logging.getLogger("aggregator.websub")  # the name its log lines carried as websub.py

RETRY_DELAYS: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0, 3600.0)  # then hourly, until the hub answers


@dataclass
class _Pending:
    attempts: int = 0
    due: float = 0.0  # loop time


@dataclass
class HubPinger:
    hub: str
    user_agent: str = "feed-aggregator"
    timeout: float = 10.0
    retry_delays: Sequence[float] = RETRY_DELAYS
    pending: dict[str, _Pending] = field(default_factory=dict)
    sent: int = 0
    last_error: str | None = None
    last_ping: str | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _progress: asyncio.Event = field(default_factory=asyncio.Event)  # set after every ping attempt
    _task: asyncio.Task[None] | None = None
    _client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, headers={"User-Agent": self.user_agent})
        self._task = asyncio.create_task(self._run(), name="websub")

    async def close(self, grace: float = 2.0) -> None:
        """Stop, after giving pings queued by the final publish `grace` seconds to go out."""
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(self.drain(), grace)
            except TimeoutError:
                pass
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.pending:
            log.warning("websub: %d ping(s) not delivered to %s before stopping", len(self.pending), self.hub)

    def announce(self, topics: Iterable[str]) -> None:
        """Queue a publish ping for each feed URL; one already waiting is not doubled."""
        now = asyncio.get_running_loop().time()
        for topic in topics:
            if topic not in self.pending:
                self.pending[topic] = _Pending(due=now)
        if self.pending:
            self._wake.set()

    def announce_changed(self, paths: Iterable[Path], base_url: str) -> None:
        """The feeds among `paths` that publish wrote (removed ones are not announced)."""
        self.announce(feed_url(base_url, p.stem) for p in paths if p.suffix == ".atom" and p.exists())

    async def drain(self, *, retries: bool = False) -> None:
        """Wait until every queued ping was tried once (or, with `retries`, delivered)."""
        while self.pending and (retries or any(p.attempts == 0 for p in self.pending.values())):
            self._progress.clear()
            await self._progress.wait()

    def status(self) -> dict[str, Any]:
        return {"hub": self.hub, "pending": len(self.pending), "sent": self.sent, "last_ping": self.last_ping, "last_error": self.last_error}

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            due = [topic for topic, p in self.pending.items() if p.due <= now]
            for topic in due:
                await self._ping(topic, loop.time())
            waiting = [p.due for p in self.pending.values()]
            self._wake.clear()
            timeout = max(0.0, min(waiting) - loop.time()) if waiting else None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _ping(self, topic: str, now: float) -> None:
        try:
            await self._attempt(topic, now)
        finally:
            self._progress.set()

    async def _attempt(self, topic: str, now: float) -> None:
        assert self._client is not None
        entry = self.pending[topic]
        try:
            response = await self._client.post(self.hub, data={"hub.mode": "publish", "hub.url": topic})
            if not 200 <= response.status_code < 300:
                raise httpx.HTTPStatusError(f"hub answered HTTP {response.status_code}", request=response.request, response=response)
        except httpx.HTTPError as exc:
            delay = self.retry_delays[min(entry.attempts, len(self.retry_delays) - 1)]
            entry.attempts += 1
            entry.due = now + delay
            self.last_error = f"{topic}: {exc or type(exc).__name__}"
            log.warning("websub: ping for %s to %s failed (%s); retry in %gs", topic, self.hub, exc or type(exc).__name__, delay)
            return
        del self.pending[topic]
        self.sent += 1
        self.last_ping = datetime.now(timezone.utc).isoformat()
        self.last_error = None
        log.info("websub: hub %s told %s changed", self.hub, topic)
