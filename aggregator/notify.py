"""Notifications: new items of chosen feeds, and source incidents, sent through Apprise.

Apprise (the library) speaks email, Telegram, JSON webhooks, DingTalk, WeCom and
Feishu/Lark, so one `url` per `[[notify]]` target covers the chat tools teams
already use. What is hand-written here is only the bookkeeping around it:

- **What is new.** An item is new to a target when the source that first found
  it stored it after the target's cursor for that source (first_seen is set
  once, when an item enters the store). A repost another source already found
  is not new. A target that starts watching a source with items begins at the
  newest of them, so adding `[[notify]]` sends nothing old; the first poll of a
  new source (or a backfill) lands in one batch, sent as one summary message.
- **The outbox.** Each batch (one feed, its count and up to `titles` titles)
  is a record in the store, written with the cursor in the same commit as the
  items: a crash loses both or neither, so a restart neither loses nor repeats
  a message (a message sent in the instant before a crash may be sent again:
  Apprise targets have no idempotency key to prevent it).
- **Delivery** runs in a background task, Apprise's blocking call in a thread,
  so polls never wait for a chat server; a failure is retried with back-off and
  shown in `status` and `/status` (the target's last error), never in polls.
- **Digest.** With `digest = "15m"` new items of a feed gather for that long
  and go out as one message; without it, one message per poll that brought
  items.
- **Health.** With `health = true`, incidents (the ones the health feed shows)
  are sent when raised and when resolved.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from . import rediscover
from .config import Config, NotifyTarget
from .models import StoredItem, parse_iso, utc_iso
from .publish.health import Incident, incidents
from .store import Store, StoreError

log = logging.getLogger(__name__)

RETRY_DELAYS: tuple[float, ...] = (30.0, 120.0, 600.0, 1800.0, 3600.0)  # then hourly
CURSOR, BATCH, TARGET, INCIDENTS = "cursor", "batch", "target", "incidents"


class NotifyError(Exception):
    """A target that cannot be used as configured (bad URL, missing environment variable)."""


def resolve_url(target: NotifyTarget) -> str:
    """The Apprise URL of a target; `env:NAME` reads it from the environment, so secrets stay out of the file."""
    if target.url.startswith("env:"):
        name = target.url[4:].strip()
        value = os.environ.get(name, "").strip()
        if not value:
            raise NotifyError(f"notify {target.name!r}: environment variable {name} is not set")
        return value
    return target.url


def send(target: NotifyTarget, title: str, body: str) -> None:
    """Send one message with Apprise (blocking); raises NotifyError saying why it failed."""
    import apprise  # imported on use: it loads every plugin, ~0.2 s nobody without [[notify]] should pay

    url = resolve_url(target)
    sender = apprise.Apprise()
    if not sender.add(url):
        raise NotifyError(f"notify {target.name!r}: not an Apprise URL (see https://github.com/caronc/apprise/wiki)")
    logs: list[str] = []

    def keep(entry: Any, _plugin: Any) -> None:
        if entry.level in ("WARNING", "ERROR", "CRITICAL"):
            logs.append(str(entry.message))

    result = sender.notify(body=body, title=title, log_callback=keep)
    if not result:
        raise NotifyError("; ".join(dict.fromkeys(logs)) or "the target refused the message")


def _feed_titles(config: Config) -> dict[str, str]:
    return {"all": "All items", **{slug: c.title for slug, c in config.categories.items()}}


def render(doc: dict[str, Any], config: Config) -> tuple[str, str]:
    """(title, body) of one batch: the feed, the count, up to N titles with links."""
    base = config.settings.base_url.rstrip("/")
    if doc.get("kind") == "health":
        lines = [f"{'RESOLVED' if e['resolved'] else e['state'].upper()}: {e['source']}: {e['text']}" for e in doc["events"]]
        raised = sum(not e["resolved"] for e in doc["events"])
        title = f"Feed aggregator: {raised} source incident(s)" if raised else "Feed aggregator: source(s) working again"
        return title, "\n".join(lines + [f"Status: {base}/status"])
    feed = doc["feed"]
    name = _feed_titles(config).get(feed, feed)
    count = doc["count"]
    first = doc.get("first_poll") or []
    if first and len(first) == 1 and count == doc.get("first_count", 0):
        title = f"{name}: {count} items from the first poll of {first[0]}"
    else:
        title = f"{name}: {count} new item{'s' if count != 1 else ''}"
    lines = [f"- {entry['title']}\n  {entry['url']}" for entry in doc["items"]]
    if count > len(doc["items"]):
        lines.append(f"... and {count - len(doc['items'])} more")
    lines.append(f"All: {base}/{feed}.html")
    return title, "\n".join(lines)


def _matches(target: NotifyTarget, item: StoredItem) -> list[str]:
    """The target's feeds this item appears in."""
    return [feed for feed in target.categories if feed == "all" or feed in item.categories]


class Notifier:
    """The daemon's notification outbox: fed after each poll, drained by a background task."""

    def __init__(self, config: Config, store: Store, clock: Any, *, retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.retry_delays = tuple(retry_delays)
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending = False

    # -- records -----------------------------------------------------------

    def _docs(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.store.notify_docs() if doc.get("type") == kind]

    def _targets(self) -> dict[str, NotifyTarget]:
        return {t.name: t for t in self.config.notify}

    def _cursor(self, target: str, source: str) -> dict[str, Any] | None:
        return next((d for d in self._docs(CURSOR) if d["target"] == target and d["source"] == source), None)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Catch up on items stored but not yet batched (a crash after a poll), then deliver in the background."""
        self.baseline()
        for source in self.config.sources:
            self.collect(source.name)
        self.store.commit()
        self._task = asyncio.create_task(self._run(), name="notify")

    async def close(self, grace: float = 5.0) -> None:
        """Stop, after giving messages due now `grace` seconds (the rest wait in the store)."""
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(self.drain(), grace)
            except TimeoutError:
                pass
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    def baseline(self) -> None:
        """Cursors and incident sets for targets and sources seen for the first time: nothing old is sent."""
        now = utc_iso(self.clock())
        docs = self.store.notify_docs()
        cursors = {(d["target"], d["source"]) for d in docs if d.get("type") == CURSOR}
        watched = {d["target"] for d in docs if d.get("type") == INCIDENTS}
        newest: dict[str, str] = {}
        for target in self.config.notify:
            if target.categories:
                for source in self.config.sources:
                    if (target.name, source.name) not in cursors:
                        if source.name not in newest:
                            newest[source.name] = self.store.newest_first_found(source.name)
                        self.store.notify_put(
                            {"type": CURSOR, "target": target.name, "source": source.name, "seen": newest[source.name]}
                        )
            if target.health and target.name not in watched:
                current = incidents(self.config, self.store.states(), self.clock())
                self.store.notify_put(
                    {
                        "type": INCIDENTS,
                        "target": target.name,
                        "open": sorted(i.atom_id for i in current),
                        "details": {i.atom_id: {"source": i.source, "state": i.kind} for i in current},
                        "since": now,
                    }
                )

    def apply_config(self, config: Config) -> None:
        self.config = config
        self.baseline()

    # -- feeding the outbox --------------------------------------------------

    def after_poll(self, source: str, new: int) -> None:
        """Called after each poll: batch what it brought, and incidents raised or resolved."""
        try:
            if new:
                self.collect(source, first_poll=True)
            self.check_health()
        except Exception:  # a bug here must cost a message, never the poll that called us
            log.exception("notify: could not queue the messages of %s's poll; the next start catches up", source)
        self._wake.set()

    def collect(self, source: str, *, first_poll: bool = False) -> None:
        now = self.clock()
        for target in self.config.notify:
            if not target.categories:
                continue
            cursor = self._cursor(target.name, source)
            if cursor is None:
                # A source added while running: its first poll's items (one first_seen) are one summary.
                items = self.store.first_found(source)
                if first_poll and len({item.first_seen for item in items}) > 1:
                    items = []
                cursor = {"type": CURSOR, "target": target.name, "source": source, "seen": ""}
            else:
                items = self.store.first_found(source, cursor["seen"])
            if not items:
                if "doc_id" not in cursor:
                    cursor["seen"] = self.store.newest_first_found(source)
                    self.store.notify_put(cursor)
                continue
            is_first = cursor["seen"] == "" and len({item.first_seen for item in items}) == 1
            by_feed: dict[str, list[StoredItem]] = {}
            for item in items:
                for feed in _matches(target, item):
                    by_feed.setdefault(feed, []).append(item)
            for feed, found in by_feed.items():
                self._batch(target, feed, found, source if is_first else None, now)
            cursor["seen"] = max(utc_iso(item.first_seen) for item in items)
            self.store.notify_put(cursor, cursor.get("doc_id"))

    def _batch(self, target: NotifyTarget, feed: str, items: list[StoredItem], first_of: str | None, now: datetime) -> None:
        newest_first = sorted(items, key=lambda i: (i.sort_time, i.key), reverse=True)
        listed = [{"title": i.title, "url": i.url} for i in newest_first[: target.titles]]
        open_batch = None
        if target.digest:
            open_batch = next(
                (d for d in self._docs(BATCH) if d["target"] == target.name and d.get("feed") == feed and d.get("kind") == "items"),
                None,
            )
        if open_batch is not None:
            open_batch["items"] = (listed + open_batch["items"])[: target.titles]
            open_batch["count"] += len(items)
            if first_of:
                open_batch.setdefault("first_poll", []).append(first_of)
            self.store.notify_put(open_batch, open_batch["doc_id"])
            return
        due = now + timedelta(seconds=target.digest or 0)
        self.store.notify_put(
            {
                "type": BATCH,
                "kind": "items",
                "target": target.name,
                "feed": feed,
                "count": len(items),
                "first_count": len(items) if first_of else 0,
                "first_poll": [first_of] if first_of else [],
                "items": listed,
                "created": utc_iso(now),
                "due": utc_iso(due),
                "attempts": 0,
            }
        )

    def check_health(self) -> None:
        targets = [t for t in self.config.notify if t.health]
        if not targets:
            return
        now = self.clock()
        current = {i.atom_id: i for i in incidents(self.config, self.store.states(), now)}
        for target in targets:
            record = next((d for d in self._docs(INCIDENTS) if d["target"] == target.name), None)
            if record is None:
                continue
            known = record.get("details", {})
            was = set(record["open"])
            events = []
            for atom_id, incident in current.items():
                if atom_id not in was or known.get(atom_id, {}).get("state") != incident.kind:
                    events.append(
                        {"source": incident.source, "state": incident.kind, "resolved": False,
                         "text": self._incident_text(incident)}
                    )
            for atom_id in was - set(current):
                events.append({"source": known.get(atom_id, {}).get("source", "a source"), "state": "resolved",
                               "resolved": True, "text": "polls succeed again"})
            if not events:
                continue
            record["open"] = sorted(current)
            record["details"] = {a: {"source": i.source, "state": i.kind} for a, i in current.items()}
            self.store.notify_put(record, record["doc_id"])
            self.store.notify_put(
                {"type": BATCH, "kind": "health", "target": target.name, "events": events,
                 "created": utc_iso(now), "due": utc_iso(now), "attempts": 0}
            )

    def _incident_text(self, incident: Incident) -> str:
        """The error, and for a redesigned site where the column went and the line to paste
        (whole: a cut paste line is no use, so only the error is shortened)."""
        text = f"{incident.error_kind}: {incident.error}"[:300]
        if incident.moved_to:
            source = self.config.source(incident.source)
            text += " — " + rediscover.moved_hint(self.config, source, incident.moved_to, incident.moved_link)
        return text

    # -- delivery ----------------------------------------------------------

    def _due(self) -> list[dict[str, Any]]:
        now = utc_iso(self.clock())
        targets = self._targets()
        return sorted(
            (d for d in self._docs(BATCH) if d["due"] <= now and d["target"] in targets),
            key=lambda d: (d["due"], d["doc_id"]),
        )

    async def drain(self, *, retries: bool = False) -> None:
        """Wait until nothing due is left untried (with `retries`: nothing due at all); tests, shutdown."""
        while any(retries or d["attempts"] == 0 for d in self._due()) or self._sending:
            self._progress.clear()
            self._wake.set()
            await self._progress.wait()

    def retry_now(self) -> None:
        """Make every waiting message due now (`notify test`, tests)."""
        now = utc_iso(self.clock())
        for doc in self._docs(BATCH):
            if doc["due"] > now:
                doc["due"] = now
                self.store.notify_put(doc, doc["doc_id"])
        self._wake.set()

    async def _run(self) -> None:
        while True:
            for doc in self._due():
                await self._deliver(doc)
            waiting = [d["due"] for d in self._docs(BATCH) if d["target"] in self._targets()]
            timeout = None
            if waiting:
                next_due = parse_iso(min(waiting))
                assert next_due is not None
                timeout = max(0.0, min(60.0, (next_due - self.clock()).total_seconds()))
            self._wake.clear()
            self._progress.set()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _deliver(self, doc: dict[str, Any]) -> None:
        target = self._targets()[doc["target"]]
        title, body = render(doc, self.config)
        self._sending = True
        try:
            await asyncio.to_thread(send, target, title, body)
        except Exception as exc:  # NotifyError, or a plugin's own bug: the message waits, polls go on
            attempts = doc["attempts"] + 1
            delay = self.retry_delays[min(attempts - 1, len(self.retry_delays) - 1)]
            doc["attempts"] = attempts
            doc["due"] = utc_iso(self.clock() + timedelta(seconds=delay))
            doc["last_error"] = str(exc) or type(exc).__name__
            self.store.notify_put(doc, doc["doc_id"])
            self._record(target.name, error=doc["last_error"])
            log.warning("notify %s: sending failed (%s); retry in %gs", target.name, doc["last_error"], delay)
        else:
            self.store.notify_remove([doc["doc_id"]])
            self._record(target.name, error=None)
            log.info("notify %s: sent %r", target.name, title)
        finally:
            self._sending = False
            try:
                self.store.commit()  # sent or not, say so on disk now: a restart must not repeat it
            except StoreError:  # a full disk: staged, and written by the daemon's committer, which says so
                pass
            self._progress.set()

    def _record(self, name: str, *, error: str | None) -> None:
        record = next((d for d in self._docs(TARGET) if d["name"] == name), None) or {"type": TARGET, "name": name}
        now = utc_iso(self.clock())
        if error is None:
            record.update(last_sent=now, last_error=None, failures=0, failing_since=None)
        else:
            record.update(last_error=error, failures=record.get("failures", 0) + 1,
                          failing_since=record.get("failing_since") or now, last_failure=now)
        self.store.notify_put(record, record.get("doc_id"))

    def status(self) -> list[dict[str, Any]]:
        return notify_status(self.config, self.store.notify_docs())


def notify_status(config: Config, docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per target: ok / failing / never-sent, pending messages, last sent, last error (never the URL)."""
    docs = list(docs)
    rows = []
    for target in config.notify:
        record = next((d for d in docs if d.get("type") == TARGET and d["name"] == target.name), {})
        pending = [d for d in docs if d.get("type") == BATCH and d["target"] == target.name]
        failing = bool(record.get("failures"))
        rows.append(
            {
                "name": target.name,
                "status": "failing" if failing else ("ok" if record.get("last_sent") else "never-sent"),
                "pending": len(pending),
                "last_sent": record.get("last_sent"),
                "failures": record.get("failures", 0),
                "failing_since": record.get("failing_since"),
                "last_error": record.get("last_error"),
                "next_try": min((d["due"] for d in pending), default=None),
            }
        )
    return rows


def test_message(target: NotifyTarget, config: Config) -> tuple[str, str]:
    base = config.settings.base_url.rstrip("/")
    feeds = ", ".join(target.categories) or "none"
    return (
        f"Feed aggregator: test message for {target.name}",
        f"This target gets new items of: {feeds}; source incidents: {'yes' if target.health else 'no'}.\nFeeds: {base}/",
    )

