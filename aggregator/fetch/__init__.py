"""Fetch stage: a page for a source, or a typed `SourceError`.

- `transport`: what the other stages use. A source asks for its own page, further pages
  and article pages, and gets them whatever it took: plain HTTP, warm-up, cookies, a
  challenge passed in the browser, a rendered page.
- `http`: the polite HTTP client under it (deadlines, size caps, conditional GET, per-host
  spacing and slots, robots.txt, cookies, warm-up pages, 403/429 back-off).
- `blocks`: how a WAF's block page or an anti-bot challenge is told from content.
"""

from .blocks import BLOCK_HINT, block_reason
from .http import IDLE_CLIENT_SECONDS, Fetcher, fetcher_for, retry_after_seconds
from .transport import Request, Transport, Validators

__all__ = [
    "BLOCK_HINT", "IDLE_CLIENT_SECONDS", "Fetcher", "Request", "Transport", "Validators",
    "block_reason", "fetcher_for", "retry_after_seconds",
]
