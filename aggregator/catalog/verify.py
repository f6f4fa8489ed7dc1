"""`catalog verify`: poll catalog entries once and say what each gives, without touching any store.

Each source's list is read exactly as `try` reads it (aggregator.preview with no older
pages), then its newest item's article page, so a user with internet access
sees per entry: reachable, items found, newest date, the article fields found,
and whether it is blocked or needs the browser. Requests go through the one
Fetcher of the config, so host spacing, robots.txt and the network options
apply as in a poll; cookies are not kept.

`--json` is a report a user can send back as evidence (`report`): per entry also
when it was checked and how long it took, the list page's HTTP status and final
URL, the first rows, the article's field values, what blocked it, and the
evidence the catalog had; at the top the tool's version and the time of the run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..config import Config, Source
from ..fetch import Fetcher, fetcher_for
from ..models import ErrorKind, FetchResult, Item, SourceError
from ..rediscover import verify_candidate
from . import Entry
from .edit import table

# Article fields reported, in order, as (preview key, name shown).
ARTICLE_FIELDS = (("title", "title"), ("published", "date"), ("source", "source"), ("author", "author"), ("content_text", "body"))
SAMPLE_ROWS = 3  # rows of the list shown in the JSON report, so a reviewer sees they are real
BODY_START = 80  # characters of the article's text shown


@dataclass
class Verdict:
    id: str  # the catalog id, or the source name for a preset-only source
    name: str
    url: str
    status: str = "error"  # ok, empty, blocked, error
    reachable: bool = False  # the site answered (any HTTP status)
    items: int = 0
    newest: str | None = None  # ISO date of the newest item, in the source's zone
    article_url: str | None = None
    article_fields: list[str] = field(default_factory=list)
    blocked: bool = False
    needs_browser: bool = False
    error: str | None = None
    # What the JSON report adds, so that a run can be checked by someone else:
    checked_at: str | None = None  # when the site first answered for it (UTC, ISO 8601; else when it was started)
    seconds: float | None = None  # until its verdict, including waits for host spacing behind other entries
    http_status: int | None = None  # of the list page (the refusal's status when it failed)
    final_url: str | None = None  # of the list page, after redirects
    requests: int = 0  # HTTP requests made for it (robots.txt and warm-up pages not counted)
    rendered: str | None = None  # why the browser loaded a page, if it did
    sample: list[dict[str, str | None]] = field(default_factory=list)  # first rows: title, url, date
    article: dict[str, object] | None = None  # the fields found, with their (short) values
    blocked_by: str | None = None  # what refused us, as the block page showed it
    error_kind: str | None = None  # the poll's word for it (network, http-status, blocked …)
    evidence: dict[str, str | None] | None = None  # what the catalog had for the entry (its own url: `url` may be overridden)
    candidate: str | None = None  # where the column seems to have moved (404/410, home redirect, empty)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class _Recorder:
    """The shared Fetcher as one entry sees it, noting what each request answered.

    Everything but `fetch` (host spacing, robots, cookies, the browser) is the shared
    Fetcher's own, so entries of one host still wait for each other.
    """

    def __init__(self, fetcher: Fetcher) -> None:
        object.__setattr__(self, "_fetcher", fetcher)
        object.__setattr__(self, "answers", [])  # FetchResult, or the SourceError a request raised
        object.__setattr__(self, "first_answer_at", None)  # UTC time of the first of them

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fetcher, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._fetcher, name, value)  # the browser, made on first use, is the process's

    async def fetch(self, url: str, **options: Any) -> FetchResult:
        try:
            result = await self._fetcher.fetch(url, **options)
        except SourceError as exc:
            self._note(exc)
            raise
        self._note(result)
        return result

    def _note(self, answer: FetchResult | SourceError) -> None:
        if not self.answers:
            object.__setattr__(self, "first_answer_at", datetime.now(timezone.utc))
        self.answers.append(answer)


async def _verify_one(source: Source, item: Entry | None, config: Config, fetcher) -> Verdict:  # noqa: ANN001 - Fetcher
    from ..preview import preview

    verdict = Verdict(id=source.catalog or source.name, name=source.name, url=source.url,
                      needs_browser=bool(item and item.needs_browser))
    once = source.model_copy(update={"backfill_pages": 0})  # once, politely: no older pages
    try:
        listed = await preview(once, config, fetcher, article=False)
    except SourceError as exc:
        verdict.reachable = exc.kind not in (ErrorKind.NETWORK, ErrorKind.TIMEOUT)
        verdict.blocked = exc.kind is ErrorKind.ANTI_BOT
        verdict.status = "blocked" if verdict.blocked else "error"
        verdict.error, verdict.error_kind = str(exc), exc.kind.value
        verdict.candidate = await verify_candidate(source, config, fetcher, exc)
        return verdict
    verdict.reachable = True
    verdict.items = len(listed.items)
    verdict.final_url, verdict.rendered = listed.url, listed.rendered
    verdict.sample = [_row(i, config.zone_of(source)) for i in listed.items[:SAMPLE_ROWS]]
    verdict.candidate = await verify_candidate(source, config, fetcher, final_url=listed.url, empty=not listed.items)
    if not listed.items:
        verdict.status = "empty"
        verdict.error = "the page answered but no items were found (selectors matched nothing or the list is built by JavaScript)"
        return verdict
    zone = config.zone_of(source)
    dated = [i for i in listed.items if i.published]
    newest = max(dated, key=lambda i: i.published) if dated else listed.items[0]  # type: ignore[arg-type, return-value]
    if newest.published:
        verdict.newest = newest.published.astimezone(zone).date().isoformat()
    verdict.status = "ok"
    verdict.article_url = newest.url
    try:
        article = await preview(once.model_copy(update={"url": newest.url}), config, fetcher, article=True)
    except SourceError as exc:
        verdict.blocked = exc.kind is ErrorKind.ANTI_BOT
        verdict.error, verdict.error_kind = f"article {newest.url}: {exc}", exc.kind.value
        return verdict
    fields = article.article or {}
    verdict.article_fields = [shown for key, shown in ARTICLE_FIELDS if fields.get(key)]
    verdict.article = _article_values(fields)
    verdict.rendered = verdict.rendered or article.rendered
    return verdict


def _row(item: Item, zone: Any) -> dict[str, str | None]:
    published = item.published.astimezone(zone).isoformat() if item.published else None
    return {"title": item.title, "url": item.url, "date": published}


def _article_values(fields: dict[str, Any]) -> dict[str, object]:
    """The article's fields as found: short ones whole, the body by its length and first words."""
    body = " ".join(str(fields.get("content_text") or "").split())
    return {
        "url": None,  # filled from the verdict
        "title": fields.get("title"),
        "date": fields.get("published"),
        "source": fields.get("source"),  # 来源
        "author": fields.get("author"),
        "body_chars": len(body),
        "body_start": body[:BODY_START] or None,
        "attachments": fields.get("attachments"),
    }


def _complete(verdict: Verdict, item: Entry | None, recorder: _Recorder, started: datetime, seconds: float) -> Verdict:
    """What the report adds to a verdict once the entry is done: time, the list page's answer, the error's kind."""
    verdict.checked_at = (recorder.first_answer_at or started).isoformat(timespec="seconds").replace("+00:00", "Z")
    verdict.seconds = round(seconds, 2)
    answers: list[FetchResult | SourceError] = recorder.answers
    verdict.requests = len(answers)
    if verdict.final_url is not None:
        # The list page's answer is the one that ended at its URL (a rendered page has none: the browser got it).
        verdict.http_status = next((a.status for a in answers if isinstance(a, FetchResult) and a.url == verdict.final_url), None)
    elif answers and isinstance(answers[-1], SourceError):
        verdict.http_status = answers[-1].status  # the list page failed: its refusal is the last answer
    refusals = [a for a in answers if isinstance(a, SourceError) and a.kind is ErrorKind.ANTI_BOT]
    if verdict.blocked and refusals:
        verdict.blocked_by = refusals[-1].message.split(" from ")[0]
    if verdict.article is not None:
        verdict.article["url"] = verdict.article_url
    if verdict.status == "empty":
        verdict.error_kind = ErrorKind.EMPTY.value
    if item is not None:
        verdict.evidence = {"kind": item.evidence_kind, "date": item.evidence_date or None, "strength": item.evidence_strength or None,
                            "source": item.evidence_source, "verified": item.verified, "url": item.url}
    return verdict


async def verify(config: Config, sources: list[tuple[Source, Entry | None]]) -> list[Verdict]:
    """One verdict per source, in order; a failing source never stops the others."""
    async with fetcher_for(config, persist_cookies=False) as fetcher:
        async def guarded(source: Source, item: Entry | None) -> Verdict:
            recorder = _Recorder(fetcher)
            started, clock = datetime.now(timezone.utc), time.monotonic()
            try:
                verdict = await _verify_one(source, item, config, recorder)
            except Exception as exc:  # noqa: BLE001 - one entry's surprise is its own error line
                verdict = Verdict(id=source.catalog or source.name, name=source.name, url=source.url,
                                  error=f"{type(exc).__name__}: {exc}", error_kind="exception",  # not a typed failure: a bug of ours
                                  needs_browser=bool(item and item.needs_browser))
            return _complete(verdict, item, recorder, started, time.monotonic() - clock)

        return list(await asyncio.gather(*(guarded(s, i) for s, i in sources)))


def report(verdicts: list[Verdict], started: datetime, config: Config) -> dict[str, object]:
    """The `--json` document: who made it and when, how politely, and one verdict per entry."""
    from ..publish.atom import package_version

    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
    return {
        "tool": "feed-aggregator",
        "version": package_version(),
        "checked_at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "host_delay": config.settings.host_delay,
        "counts": counts,
        "entries": [v.as_json() for v in verdicts],
    }


def verdict_table(verdicts: list[Verdict]) -> str:
    rows = []
    for v in verdicts:
        flags = [f for f, on in (("blocked", v.blocked), ("needs-browser", v.needs_browser)) if on]
        rows.append([
            v.id, v.status, "yes" if v.reachable else "no", str(v.items), v.newest or "-",
            ",".join(v.article_fields) or "-", " ".join(flags) or "-", v.candidate or "-", (v.error or "")[:140],
        ])
    header = ["id", "status", "reachable", "items", "newest", "article fields", "blocked/browser", "moved to?", "error"]
    return table(header, rows)


def evidence_lines(run: object, file_name: str) -> tuple[list[str], list[str]]:
    """From a `verify --json` report: the `evidence = {…}` line for each entry it shows working, and why the others are not.

    An entry counts when it gave items from the catalog's own URL (a config may have pointed it elsewhere).
    Returns (TOML lines, one comment line per entry left out); raises ValueError for a file that is no report.
    """
    import tomlkit

    if not isinstance(run, dict) or run.get("tool") != "feed-aggregator" or not isinstance(run.get("entries"), list):
        raise ValueError(
            'not a `catalog verify --json` report (a report has "tool": "feed-aggregator" and "entries"); '
            "give the file `catalog verify --json` wrote"
        )
    lines: list[str] = []
    skipped: list[str] = []
    for verdict in run["entries"]:
        if not isinstance(verdict, dict) or not verdict.get("id"):
            raise ValueError("an entry of the report has no id")
        entry_id, evidence = verdict["id"], verdict.get("evidence")
        if evidence is None:
            skipped.append(f"# {entry_id}: not a catalog entry")
        elif verdict.get("status") != "ok":
            skipped.append(f"# {entry_id}: {verdict.get('status')}: {verdict.get('error')}")
        elif verdict.get("url") != evidence.get("url"):
            skipped.append(f"# {entry_id}: checked at {verdict.get('url')}, not the catalog's {evidence.get('url')}")
        else:
            day = str(verdict.get("checked_at", ""))[:10]
            seen = [f"HTTP {verdict.get('http_status')}" if verdict.get("http_status") else "rendered",
                    f"{verdict.get('items')} items", f"newest {verdict.get('newest') or 'undated'}"]
            if verdict.get("article_fields"):
                seen.append("article " + ", ".join(verdict["article_fields"]))
            table = tomlkit.inline_table()
            table.update({
                "kind": "live-check", "date": day, "strength": "live",
                "source": f"user run {file_name} ({run.get('tool')} {run.get('version')}): " + ", ".join(seen),
                "verified": f"live poll {day}",
            })
            lines += [f"# {entry_id}", f"evidence = {table.as_string()}"]
    return lines, skipped

