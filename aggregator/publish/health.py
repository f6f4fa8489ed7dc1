"""Source health: a table for `status`/`status.json`, and the health feed.

A broken source must reach the user without them looking at logs, so
incidents are published as entries of a separate `health.atom` (never inside
the content feeds). An incident is identified by (source, the moment it
started failing): while the same failure streak goes on it stays one entry,
updated when it gets worse (emptied -> failing for long -> gone). When the
source recovers the incident is over and its entry leaves the feed.

Everything here is a pure function of config, source state and `now`, so the
health feed is deterministic like the content feeds.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import rediscover
from ..config import Config
from ..models import ErrorKind, StoredItem, parse_iso
from ..infra.writable import write_problem
from ..store import OutputError, SourceState, unusable
from .atom import FeedSpec, render_atom, write_atomic

HEALTH_SLUG = "health"
HEALTH_TITLE = "Feed aggregator: source health"
HEALTH_FILE = f"{HEALTH_SLUG}.atom"

# Incident kinds, mildest first; an incident only ever moves to a later one.
EMPTIED = "emptied"
MOVED = "moved"  # the URL stopped working and the site links the column's name elsewhere
FAILING = "failing"
GONE = "gone"
# A list whose selectors match nothing, or a feed that lists no entries: both emptied, told apart in words.
_EMPTY_KINDS = (ErrorKind.EMPTY.value, ErrorKind.FEED_EMPTY.value)


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One row of `status`: what a user needs to judge a source at a glance."""

    name: str
    url: str
    enabled: bool
    status: str  # ok | never-polled | failing | emptied | stale | gone | disabled
    last_attempt: str | None
    last_success: str | None
    consecutive_failures: int
    failing_since: str | None
    last_error: str | None
    last_error_kind: str | None
    items_last_poll: int | None
    last_new_item: str | None
    items_stored: int
    next_run: str | None = None
    rendered: str | None = None  # why the source last needed the browser (`render`)
    rendered_at: str | None = None
    moved_to: str | None = None  # where its column seems to have gone (rediscover), while it fails
    moved_hint: str | None = None  # that, with the line to paste and where

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _status(state: SourceState | None, enabled: bool, stale_after: float, now: datetime) -> str:
    if not enabled:
        return "disabled"
    if state is None or state.last_attempt is None:
        return "never-polled"
    if state.gone:
        return "gone"
    if not state.consecutive_failures:
        return "ok"
    since = parse_iso(state.failing_since)
    if since and (now - since).total_seconds() >= stale_after:
        return "stale"
    if state.last_error_kind in _EMPTY_KINDS and state.max_items_seen > 0:
        return "emptied"
    return "failing"


def source_health(
    config: Config,
    states: Mapping[str, SourceState],
    now: datetime,
    *,
    counts: Mapping[str, int] | None = None,
    next_runs: Mapping[str, datetime | None] | None = None,
) -> list[SourceHealth]:
    """One row per configured source, in config order (the CLI's `status` table can use this)."""
    rows = []
    for source in config.sources:
        state = states.get(source.name)
        s = state or SourceState()
        upcoming = (next_runs or {}).get(source.name)
        rows.append(
            SourceHealth(
                name=source.name,
                url=source.url,
                enabled=source.enabled,
                status=_status(state, source.enabled, config.settings.stale_after, now),
                last_attempt=s.last_attempt,
                last_success=s.last_success,
                consecutive_failures=s.consecutive_failures,
                failing_since=s.failing_since,
                last_error=s.last_error,
                last_error_kind=s.last_error_kind,
                items_last_poll=s.items_last_poll,
                last_new_item=s.last_new_item,
                items_stored=(counts or {}).get(source.name, 0),
                next_run=upcoming.astimezone(timezone.utc).isoformat() if upcoming else None,
                rendered=s.rendered,
                rendered_at=s.rendered_at,
                moved_to=s.moved_to if s.consecutive_failures else None,
                moved_hint=_moved_hint(config, source.name, s),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Incident:
    source: str
    url: str
    kind: str  # EMPTIED | MOVED | FAILING | GONE
    started: datetime  # first failure of the streak: the incident's identity
    since: datetime  # when it reached `kind`: the entry's `updated`
    error: str
    error_kind: str
    failures: int
    rendered: str | None = None  # why the source needed the browser, when it did
    moved_to: str | None = None  # where its column seems to have moved
    moved_link: str | None = None  # how that link was found
    paste: str | None = None  # the line to paste to follow it, and where

    @property
    def atom_id(self) -> str:
        # Stable per (source, start): readers keep one entry per incident and see it updated.
        name = f"feed-aggregator:health:{self.source}:{self.started.astimezone(timezone.utc).isoformat()}"
        return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def incidents(config: Config, states: Mapping[str, SourceState], now: datetime) -> list[Incident]:
    """The incidents worth telling the user about now, for enabled configured sources."""
    stale_after = timedelta(seconds=config.settings.stale_after)
    found = []
    for source in config.sources:
        state = states.get(source.name)
        if not source.enabled or state is None or not state.consecutive_failures:
            continue
        started = parse_iso(state.failing_since) or parse_iso(state.last_attempt)
        last = parse_iso(state.last_attempt) or started
        if started is None or last is None:
            continue
        never_worked = state.last_success is None
        if state.gone:
            kind, since = GONE, last  # a gone source is not polled again, so last_attempt stays put
        elif now - started >= stale_after:
            kind, since = FAILING, started + stale_after
        elif never_worked and (
            state.consecutive_failures >= config.settings.incident_failures
            or now - started >= timedelta(seconds=config.settings.incident_after)
        ):
            # Nothing to heal back to: a wrong URL or selector should not wait days to be told.
            kind, since = FAILING, started
        elif state.moved_to:  # the site says where the column went: worth telling at once
            kind, since = MOVED, started
        elif state.last_error_kind in _EMPTY_KINDS and state.max_items_seen > 0:
            kind, since = EMPTIED, started
        else:
            continue  # a short failure streak heals itself; only logs and `status` show it
        found.append(
            Incident(
                source=source.name,
                url=source.url,
                kind=kind,
                started=started,
                since=since,
                error=state.last_error or "",
                error_kind=state.last_error_kind or "",
                failures=state.consecutive_failures,
                rendered=state.rendered,
                moved_to=state.moved_to,
                moved_link=state.moved_link,
                paste=rediscover.paste_line(config, source, state.moved_to) if state.moved_to else None,
            )
        )
    return found


def _moved_hint(config: Config, name: str, state: SourceState) -> str | None:
    if not (state.moved_to and state.consecutive_failures):
        return None
    return rediscover.moved_hint(config, config.source(name), state.moved_to, state.moved_link)


_FEED_EMPTIED_HEADLINE = "{name}: the feed no longer lists any entries"
_FEED_EMPTIED_ADVICE = (
    "It used to list entries and now lists none. Open the feed's URL to check that it is still the feed you mean;"
    " polling continues."
)
_HEADLINES = {
    EMPTIED: "{name}: the page no longer yields any items (layout change?)",
    MOVED: "{name}: the column seems to have moved (site redesign?)",
    FAILING: "{name}: failing since {start}",
    GONE: "{name}: the source is gone (HTTP 410); it is no longer polled",
}
_ADVICE = {
    EMPTIED: "It used to list items and now none match. Check the page in a browser and the source's"
    " selectors with <code>aggregator try</code>.",
    MOVED: "Its address stopped working, and the site now links the column's name to another address."
    " Check that address in a browser; the config is never changed by itself, and polling continues.",
    FAILING: "Polling continues with back-off. Check the URL, and <code>aggregator status</code> for details.",
    GONE: "The server says the page was removed for good. Change the source's URL or remove it from the config.",
}


def zone_label(name: str) -> str:
    """How a page names the config's zone (the readable pages say the same)."""
    return "北京时间" if name in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else name


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "。", "！", "？")) else text + "."


def _entry(incident: Incident, zone_name: str) -> StoredItem:
    # The page beside the entry prints its time in the config's zone: the headline must agree,
    # or a failure at 20:00 UTC reads as a day earlier than the 04:00 北京时间 next to it.
    local = incident.started.astimezone(ZoneInfo(zone_name)).strftime("%Y-%m-%d %H:%M")
    start = f"{local} {zone_label(zone_name)}"
    feed_emptied = incident.kind == EMPTIED and incident.error_kind == ErrorKind.FEED_EMPTY.value
    title = (_FEED_EMPTIED_HEADLINE if feed_emptied else _HEADLINES[incident.kind]).format(name=incident.source, start=start)
    advice = _FEED_EMPTIED_ADVICE if feed_emptied else _ADVICE[incident.kind]
    # Only fields that change with the incident's kind go in, so the entry does not churn every poll.
    # One paragraph a line: readers that show the text without tags keep the sentences apart.
    body = "\n".join(
        [
            f"<p>{advice}</p>",  # our own constant markup
            f"<p>Source: <a href=\"{html.escape(incident.url)}\">{html.escape(incident.source)}</a>;"
            f" first failure {html.escape(start)}.</p>",
            f"<p>Error ({html.escape(incident.error_kind)}): {html.escape(_sentence(incident.error))}</p>",
        ]
        + ([f"<p>The source needs the browser: {html.escape(_sentence(incident.rendered))}</p>"] if incident.rendered else [])
        + ([_moved_paragraph(incident)] if incident.moved_to else [])
    )
    digest = hashlib.sha256(f"{incident.atom_id}|{incident.kind}|{body}".encode()).hexdigest()
    return StoredItem(
        key=f"health:{incident.source}:{incident.started.isoformat()}",
        atom_id=incident.atom_id,
        source=incident.source,
        url=incident.url,
        title=title,
        published=incident.started,
        updated=incident.since,
        first_seen=incident.started,
        author="feed-aggregator",
        content_html=body,
        categories=(HEALTH_SLUG,),
        content_hash=digest,
    )


def _moved_paragraph(incident: Incident) -> str:
    url = html.escape(incident.moved_to or "")
    how = f" ({html.escape(incident.moved_link)})" if incident.moved_link else ""
    return (
        f"<p>The column seems to have moved to <a href=\"{url}\">{url}</a>{how}."
        f" To follow it, {html.escape(incident.paste or '')}.</p>"
    )


def health_spec(
    config: Config, states: Mapping[str, SourceState], now: datetime, *, empty_updated: datetime | None = None
) -> FeedSpec:
    entries = [_entry(incident, config.settings.timezone) for incident in incidents(config, states, now)]
    return FeedSpec(
        HEALTH_SLUG, HEALTH_TITLE, "Sources that stopped working and need a look", entries, empty_updated=empty_updated
    )


def render_health(
    config: Config, states: Mapping[str, SourceState], now: datetime, *, empty_updated: datetime | None = None
) -> bytes:
    spec = health_spec(config, states, now, empty_updated=empty_updated)
    return render_atom(spec, config.settings.base_url, config.settings.feed_entries, hub=config.settings.websub_hub)


def write_health(
    config: Config, states: Mapping[str, SourceState], now: datetime, *, empty_updated: datetime | None = None
) -> bool:
    """Write `health.atom` beside the content feeds; False when its bytes did not change."""
    out: Path = config.output_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
        return write_atomic(out / HEALTH_FILE, render_health(config, states, now, empty_updated=empty_updated))
    except OSError as exc:
        raise OutputError(unusable("output_dir", out, exc, "write feeds to")) from None


def write_problems(config: Config, *, writer: bool = True) -> tuple[str | None, str | None]:
    """Why the store and the feeds folder could not be written now (a full or read-only disk), one
    line each with the fix, None for one that can; a PostgreSQL store reports its own errors.
    `writer=False`: asked by `status` for the daemon, which may be another user (infra.writable)."""
    location, store = config.store_location, None
    if isinstance(location, Path):
        problem = write_problem(location.parent, writer=writer)
        store = unusable("store", location, _unnamed(problem), "write the store") if problem else None
    problem = write_problem(config.output_dir, writer=writer)
    return store, unusable("output_dir", config.output_dir, _unnamed(problem), "write feeds to") if problem else None


def _unnamed(exc: OSError) -> OSError:
    """Without the probe file's random name: the message names the setting's own path."""
    return OSError(exc.errno, exc.strerror)
