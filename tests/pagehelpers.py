"""Helpers shared by the page, WebSub and notification tests: upstream RSS, a served daemon in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from aggregator.config import Config
from aggregator.serve import FeedServer


def rss(items: list[tuple[str, str, str]], *, start: datetime | None = None) -> str:
    """An RSS 2.0 document of (title, link, description) items, newest first, an hour apart."""
    start = start or datetime(2025, 4, 23, 2, 0, tzinfo=timezone.utc)
    rows = "\n".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<description>{escape(description)}</description>"
        f"<pubDate>{format_datetime(start - timedelta(hours=n))}</pubDate></item>"
        for n, (title, link, description) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>up</title>'
        f"<link>http://example.org/</link><description>d</description>{rows}</channel></rss>"
    )


@contextmanager
def served(config: Config, status: Callable[[], dict[str, Any]] | None = None) -> Iterator[str]:
    """The feed server on its own event loop in a thread (Playwright's sync API needs the main one)."""
    loop = asyncio.new_event_loop()
    server = FeedServer(get_config=lambda: config, status=status)
    started: list[int] = []
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        _host, port = loop.run_until_complete(server.start("127.0.0.1", 0))
        started.append(port)
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield f"http://127.0.0.1:{started[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
