"""The config as pydantic models: settings, [serve], categories, sources and their
selectors, notify targets, and the checks across tables (unknown categories, duplicate names).

The value types of single keys are in fields.py; reading the TOML file and turning
validation errors into messages is in loading.py.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .fields import Duration, HttpUrl, JMESPath, OptionalUrl, ProxyUrl, Selector

MIN_INTERVAL = 60
MAX_INTERVAL = 7 * 24 * 3600
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Feed names the program or its server uses itself: a category of that name would lose its
# feed, or its /<name>.html and /<name>.json pages, to them.
RESERVED_SLUGS = {
    "all": "the feed of every item is all.atom",
    "health": "the feed of source incidents is health.atom",
    "status": "the server answers /status.html and /status.json with source health",
    "index": "the server answers /index.html with the list of feeds",
}


class Strict(BaseModel):
    # strict: "8080" is not a port and "yes" is not a boolean (TOML has real integers and booleans).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ListSelectors(Strict):
    """How to read items from an HTML list page."""

    item: Selector
    title: Selector | None = None  # default: text of the link
    link: Selector = "a@href"
    date: Selector | None = None
    summary: Selector | None = None



class ListRequest(Strict):
    """How a list's pages are asked for: GET, or POST with a form or a JSON body, and older pages.

    `[sources.request]` of an HTML list source; `[sources.json]` takes the same keys."""

    method: Literal["GET", "POST"] = "GET"
    form: dict[str, str] | None = None  # POST as application/x-www-form-urlencoded
    body: dict[str, Any] | list[Any] | None = None  # POST as application/json
    headers: dict[str, str] = Field(default_factory=dict)  # sent with the list's requests only
    next_page: str | None = None  # older pages: "page={page}", a URL template with {page}, or {page} in form/body

    @model_validator(mode="after")
    def _request_shape(self) -> ListRequest:
        if self.form is not None and self.body is not None:
            raise ValueError("give either `form` or `body`, not both")
        if (self.form is not None or self.body is not None) and self.method != "POST":
            raise ValueError('`form` and `body` are sent only with a POST: add method = "POST" beside them')
        if self.next_page is not None and "{page}" not in self.next_page and not self.pages_in_request():
            raise ValueError(f"next_page {self.next_page!r} has no {{page}} placeholder, e.g. \"page={{page}}\"")
        return self

    def pages_in_request(self) -> bool:
        """The page number goes in the POST form or body ({page} in a value)."""
        import json

        return "{page}" in json.dumps([self.form, self.body], ensure_ascii=False)

    def pages(self) -> bool:
        """Older pages can be asked for (for backfill_pages)."""
        return (self.next_page is not None and "{page}" in self.next_page) or self.pages_in_request()


class JsonQuery(ListRequest):
    """How to read items from a JSON list API: JMESPath expressions, and the request to send."""

    items: JMESPath  # the list of items in the answer
    title: JMESPath = "title"  # the rest are read from each item
    link: JMESPath = "url"
    date: JMESPath | None = None  # Unix seconds (or ms), or date text
    summary: JMESPath | None = None


class ArticleSelectors(Strict):
    """How to read fields from an article page; each is optional."""

    title: Selector | None = None
    date: Selector | None = None
    body: Selector | None = None
    source: Selector | None = None
    author: Selector | None = None
    remove: list[Selector] = Field(default_factory=list)  # boilerplate inside the body


class Rules(Strict):
    """One rule set: keyword / regex rules over an item's title, body and source name, and
    conditions on its penalty case (classify.py says how they combine: every condition given must hold)."""

    include: list[str] = Field(default_factory=list)  # any match adds the item
    exclude: list[str] = Field(default_factory=list)  # any match removes it
    fields: list[Literal["title", "body", "source"]] = Field(
        default_factory=lambda: ["title", "body"]
    )
    fine_at_least: int | None = None  # the case's fine, in whole yuan, is at least this
    party: list[str] = Field(default_factory=list)  # the case's party (当事人) contains one of these

    @field_validator("include", "exclude", "party")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if pattern.startswith("re:"):
                try:
                    re.compile(pattern[3:])
                except re.error as exc:
                    raise ValueError(f"bad regular expression {pattern[3:]!r}: {exc}") from None
        return patterns

    @field_validator("party")
    @classmethod
    def _named(cls, names: list[str]) -> list[str]:
        if any(not name.strip() for name in names):
            raise ValueError('an empty name would match every party; remove it, or write part of a name, e.g. "化工"')
        return names

    @field_validator("fine_at_least", mode="before")
    @classmethod
    def _yuan(cls, value: object) -> object:
        # Before the strict int check, so "1M" or 1e6 get a fix in yuan rather than "Input should be a valid integer".
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"fine_at_least is a whole number of yuan without quotes, e.g. fine_at_least = 1000000 for"
                f" 100万元 (got {value!r})".replace("'", '"')
            )
        if value < 0:
            raise ValueError(f"fine_at_least must be 0 or more yuan (got {value}); 0 matches every case that states a fine")
        return value

    def case_conditions(self) -> bool:
        """Whether the rules ask anything of the item's penalty case."""
        return self.fine_at_least is not None or bool(self.party)

    def describe(self) -> str:
        """One line for `check`: pattern counts, then the case conditions (only those when the set
        has no patterns: "+0 -0" would read as a set that matches nothing)."""
        parts = []
        if self.include or self.exclude or not self.case_conditions():
            where = f" in {'/'.join(self.fields)}" if self.fields != ["title", "body"] else ""
            parts.append(f"+{len(self.include)} -{len(self.exclude)}{where}")
        if self.fine_at_least is not None:
            parts.append(f"fine >= {self.fine_at_least:,} yuan")
        if self.party:
            parts.append(f"party: {', '.join(self.party)}")
        return ", ".join(parts)


class Category(Strict):
    title: str
    description: str = ""
    # Items of any source that one of these rule sets takes join the category. Written as one
    # table ([categories.NAME.rules], or inline) or as an array of tables ([[categories.NAME.rules]])
    # when an item may qualify in different ways (e.g. a word in the title, or a phrase in the body).
    rules: list[Rules] = Field(default_factory=list)
    feed_entries: int | None = Field(default=None, ge=1, le=1000)  # default: settings.feed_entries

    @field_validator("rules", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if isinstance(value, dict):
            return [value]  # the single-table form every older config uses
        if not isinstance(value, list):
            raise ValueError(
                "rules is a table, rules = { include = [\"执法\"] }, or an array of tables written"
                " [[categories.NAME.rules]] (got " + repr(value).replace("'", '"') + ")"
            )
        return value

    def rules_read(self, field_name: str) -> bool:
        """Whether any rule set of the category looks at `field_name` (title, body, source)."""
        return any(field_name in rules.fields for rules in self.rules)


def _kinds() -> tuple[str, ...]:
    """The kinds the readers registered (aggregator.read). Imported here, when a source is
    checked, not at import: the config is read before any other stage is loaded."""
    from ..read import kinds

    return kinds()


def _reader_renders(kind: str) -> bool:
    """Whether `render = true` makes sense: the kind's page is an HTML page ("auto": one may be)."""
    from ..read import READERS

    reader = READERS.get(kind)
    return reader is None or reader.renders


class Source(Strict):
    name: str = Field(min_length=1)
    url: HttpUrl
    kind: str = "auto"  # a registered reader's kind (aggregator.read), or "auto"
    interval: Duration | None = None
    categories: list[str] = Field(default_factory=list)
    timezone: str | None = None
    encoding: str | None = None
    list_selectors: ListSelectors | None = Field(default=None, alias="list")
    article: ArticleSelectors | None = None
    json_query: JsonQuery | None = Field(default=None, alias="json")  # kind = "json"
    request: ListRequest | None = None  # kind = "html"/"auto": how the list page is asked for (a form POST)
    fetch_articles: bool | None = None  # default: when the list gives no summary
    backfill_pages: int = Field(default=0, ge=0, le=50)
    keep: Rules | None = None  # only items matching these are kept
    drop: Rules | None = None  # items matching these are dropped
    respect_robots: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    # Network options; None takes the [settings] default.
    proxy: ProxyUrl | None = None  # http(s):// or socks5(h)://; "" for none
    referer: OptionalUrl | None = None  # sent as Referer with every request of the source
    warmup: OptionalUrl | None = None  # fetched first for its cookies, again when they expire or are refused
    cookies: dict[str, str] | None = None  # sent to the source's hosts
    # Also download and read the documents of article pages that have a body (for classification).
    read_attachments: bool = False
    # Who publishes the source's items, as every entry names it (README "Output"); a catalog
    # source gets its entry's authority. Without it entries name the source by `name`.
    authority: str | None = None
    # Where the source came from: a catalog entry id / a CMS preset (aggregator.catalog); already expanded.
    catalog: str | None = None
    preset: str | None = None
    # Pages only a browser can read: true renders the list page in headless Chromium on every
    # poll; "auto" only when a plain fetch is a block or challenge page.
    render: bool | Literal["auto"] = False
    wait_for: Selector | None = None  # rendered pages are ready once this matches (default: list.item)
    # The column's name as the site's menus show it (行政处罚): when the URL stops working, the
    # poll looks for a link by this name on the same site and says where it went (rediscover).
    column: str | None = Field(default=None, min_length=1)

    @property
    def label(self) -> str:
        """The name feeds, pages and exports give the source: its authority, else its name."""
        return self.authority or self.name

    @field_validator("authority")
    @classmethod
    def _named_authority(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError('write the name entries should show, e.g. authority = "某某市生态环境局", or remove the key')
        return " ".join(value.split()) if value is not None else None

    @model_validator(mode="after")
    def _render_shape(self) -> Source:
        if self.render is True and not _reader_renders(self.kind):
            raise ValueError(f'render = true reads an HTML page in a browser; with kind = "{self.kind}" use render = "auto" (for a challenge)')
        if self.wait_for is not None and not self.render:
            raise ValueError("`wait_for` is read only with render = true or \"auto\"")
        return self

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        known = _kinds()
        if value not in known:
            raise ValueError(f"Input should be {', '.join(repr(k) for k in known[:-1])} or {known[-1]!r} (got \"{value}\")")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}; use e.g. utf-8, gb18030, gbk") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            _zone(value)
        return value


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as Asia/Shanghai") from None


class Settings(Strict):
    store: str = "store.json"
    output_dir: str = "feeds"
    base_url: HttpUrl = "http://127.0.0.1:8080"  # default: where [serve] listens (Config fills it in)
    default_interval: Duration = 1800.0
    user_agent: str = "feed-aggregator/0.1 (+https://github.com/; polite news poller)"
    timezone: str = "Asia/Shanghai"
    feed_entries: int = Field(default=50, ge=1, le=1000)
    timeout: Duration = 30.0
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    host_concurrency: int = Field(default=1, ge=1, le=16)
    host_delay: Duration = 1.0
    concurrency: int = Field(default=16, ge=1, le=256)
    # Processes that parse pages beside the event loop; None: one per spare CPU (at most 4).
    workers: int | None = Field(default=None, ge=0, le=32)
    retention_days: int = Field(default=365, ge=1)
    retention_count: int = Field(default=2000, ge=10)
    stale_after: Duration = 3 * 86400.0  # failing this long is announced in the health feed
    # A host that answers 403/429 in a burst gets its spacing doubled, up to this.
    host_delay_max: Duration = 60.0
    # Defaults of the sources' network options.
    proxy: ProxyUrl | None = None
    referer: OptionalUrl | None = None
    warmup: OptionalUrl | None = None
    cookies: dict[str, str] = Field(default_factory=dict)
    # Documents (PDF, DOCX) are read for their text up to this size and for at most this long.
    attachment_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    attachment_timeout: Duration = 10.0
    # A source that has never worked (a wrong URL, a 404) is announced sooner: after this many
    # failed polls in a row, or after failing for incident_after, whichever comes first.
    incident_failures: int = Field(default=3, ge=1)
    incident_after: Duration = 3600.0
    # The headless browser of `render` sources: pages rendered at once, and its executable
    # (default: `chromium` on PATH).
    render_concurrency: int = Field(default=2, ge=1, le=16)
    browser: str | None = None
    websub_hub: HttpUrl | None = None  # WebSub hub: feeds link to it, the daemon pings it on changes

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @field_validator("store")
    @classmethod
    def _store_source(cls, value: str) -> str:
        problem = store_setting_problem(value)
        if problem:
            raise ValueError(problem)
        return value  # `env:` is read again when the store opens, so the secret stays out of the config

    @field_validator("store", "output_dir")
    @classmethod
    def _expandable(cls, value: str) -> str:
        if is_database_url(value) or value.startswith("env:"):
            return value
        try:
            Path(value).expanduser()
        except RuntimeError:  # "~name/…" of a user this machine does not have
            raise ValueError(f"{value!r}: '~' names no home directory on this machine; write the path out") from None
        return value

    @field_validator("default_interval", "timeout", "host_delay", "stale_after", "host_delay_max", "attachment_timeout", "incident_after")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a usable duration; write e.g. 90s, 30m, 2h")
        if value < 0:
            raise ValueError(f"{value:g}s: a duration must not be negative")
        return value

    @field_validator("timeout")
    @classmethod
    def _some_time(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("timeout must be more than 0s (e.g. 30s)")
        return value

    @field_validator("default_interval")
    @classmethod
    def _interval_range(cls, value: float) -> float:
        if not MIN_INTERVAL <= value <= MAX_INTERVAL:
            raise ValueError(f"interval {value:g}s is outside {MIN_INTERVAL}s..{MAX_INTERVAL // 86400}d")
        return value


_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


def served_url(host: str, port: int) -> str:
    """The URL of a server listening on host:port (the loopback address for a wildcard host)."""
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


class ServeSettings(Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class NotifyTarget(Strict):
    """One `[[notify]]` table: where messages about new items and source incidents go (notify.py)."""

    name: str = Field(min_length=1)
    url: str = Field(min_length=1)  # an Apprise URL, or "env:VAR" to read it from the environment
    categories: list[str] = Field(default_factory=list)  # feeds whose new items are sent ("all": every item)
    health: bool = False  # also source incidents, raised and resolved
    digest: Duration | None = None  # collect for this long, then one message per feed
    titles: int = Field(default=10, ge=1, le=100)  # titles listed per message


class Config(Strict):
    settings: Settings = Field(default_factory=Settings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    categories: dict[str, Category] = Field(default_factory=dict)
    sources: list[Source] = Field(default_factory=list)
    notify: list[NotifyTarget] = Field(default_factory=list)
    # Set by load_config; not read from the file.
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _default_base_url(cls, data: Any) -> Any:
        """Without an explicit base_url, readers reach the feeds where [serve] listens."""
        if not isinstance(data, dict):
            return data
        settings, serve = data.get("settings", {}), data.get("serve", {})
        if not isinstance(settings, dict) or not isinstance(serve, dict) or "base_url" in settings:
            return data
        host, port = serve.get("host", "127.0.0.1"), serve.get("port", 8080)
        if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
            return data  # validation reports the bad [serve] value
        return {**data, "settings": {**settings, "base_url": served_url(host, port)}}

    def warnings(self) -> list[str]:
        """Things that work but are probably not what was meant; `check` prints them, `run` logs them."""
        out: list[str] = []
        if not self.sources:
            out.append("no [[sources]] defined: nothing will be polled (see config/example.toml)")
        parts = urlsplit(self.settings.base_url)
        listen = self.serve.host
        loopback = {"127.0.0.1", "localhost", "::1"}
        same_host = parts.hostname == listen or (
            parts.hostname in loopback and (listen in loopback or listen in _WILDCARD_HOSTS)
        )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if self.serve.enabled and same_host and self.serve.port != 0 and port != self.serve.port:
            out.append(
                f"settings.base_url {self.settings.base_url} names port {port}, but [serve] listens on"
                f" {listen}:{self.serve.port}: feed links and the OPML will point at the wrong port;"
                " remove base_url (it then follows [serve]) or fix the port"
            )
        return out

    @field_validator("categories")
    @classmethod
    def _slugs(cls, categories: dict[str, Category]) -> dict[str, Category]:
        for slug in categories:
            if slug in RESERVED_SLUGS:
                raise ValueError(
                    f"category name {slug!r} is taken: {RESERVED_SLUGS[slug]}; rename the category"
                    f" (e.g. [categories.{slug}-news]) and the sources' categories that name it"
                )
            if not SLUG.match(slug):
                raise ValueError(f"category name {slug!r} must be lower-case letters, digits, - or _")
        return categories

    @model_validator(mode="before")
    @classmethod
    def _expand_catalog(cls, data: Any) -> Any:
        """`catalog = "ID"` / `preset = "NAME"` sources become the source tables they stand for."""
        if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
            return data
        tables = data["sources"]
        if not any(isinstance(t, dict) and ("catalog" in t or "preset" in t) for t in tables):
            return data
        from ..catalog import CatalogError, expand

        categories = data.get("categories")
        defined = set(categories) if isinstance(categories, dict) else set()
        sources = []
        for index, table in enumerate(tables):
            if isinstance(table, dict) and ("catalog" in table or "preset" in table):
                try:
                    table = expand(table, defined)
                except CatalogError as exc:
                    raise _located(("sources", index, "catalog" if "catalog" in table else "preset"), str(exc)) from None
            sources.append(table)
        return {**data, "sources": sources}

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        seen: set[str] = set()
        for index, source in enumerate(self.sources):
            if source.name in seen:
                raise _located(("sources", index, "name"), f"duplicate source name {source.name!r}; names must be unique")
            seen.add(source.name)
            for category in source.categories:
                if category not in self.categories:
                    known = ", ".join(sorted(self.categories)) or "none defined"
                    raise _located(
                        ("sources", index, "categories"),
                        f"unknown category {category!r}; add [categories.{category}] or use one of: {known}",
                    )
            if source.kind == "json" and source.json_query is None:
                raise _located(
                    ("sources", index, "kind"), 'kind = "json" needs a [sources.json] table with at least `items` (a JMESPath)'
                )
            if source.json_query is not None and source.kind != "json":
                raise _located(("sources", index, "json"), 'a [sources.json] table is read only with kind = "json"')
            if source.request is not None and source.kind not in ("html", "auto"):
                fix = (
                    "put method, form, body, headers and next_page in [sources.json]" if source.kind == "json"
                    else f'a "{source.kind}" source is asked for with GET: remove [sources.request], or set kind = "html"'
                )
                raise _located(
                    ("sources", index, "request"), f'[sources.request] is read only with kind = "html" or "auto"; {fix}'
                )
            if source.render is True and source.request is not None and source.request.method == "POST":
                raise _located(
                    ("sources", index, "render"),
                    'render = true loads the list in the browser, which cannot send the form POST of [sources.request]:'
                    ' use render = "auto" (the browser then only gets past a challenge, and the POST goes over HTTP)'
                    " or remove render",
                )
            interval = source.interval
            if interval is not None and not MIN_INTERVAL <= interval <= MAX_INTERVAL:
                raise _located(
                    ("sources", index, "interval"),
                    f"interval {interval:g}s is outside {MIN_INTERVAL}s..{MAX_INTERVAL // 86400}d",
                )
        return self

    @model_validator(mode="after")
    def _notify_checks(self) -> Config:
        seen: set[str] = set()
        for index, target in enumerate(self.notify):
            if target.name in seen:
                raise _located(("notify", index, "name"), f"duplicate notify name {target.name!r}; names must be unique")
            seen.add(target.name)
            for category in target.categories:
                if category != "all" and category not in self.categories:
                    known = ", ".join(["all", *sorted(self.categories)])
                    raise _located(
                        ("notify", index, "categories"), f"unknown category {category!r}; use one of: {known}"
                    )
            if not target.categories and not target.health:
                raise _located(
                    ("notify", index, "categories"),
                    f"notify {target.name!r} has nothing to send: list categories, or set health = true",
                )
            if target.digest is not None and not 0 <= target.digest <= MAX_INTERVAL:
                raise _located(("notify", index, "digest"), f"digest {target.digest:g}s is outside 0s..7d")
            if target.url.startswith("env:") and not target.url[4:].strip():
                raise _located(("notify", index, "url"), 'write "env:NAME" with the name of an environment variable')
        return self

    # Helpers used by later stages.
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self.base_dir() / path).resolve()

    @property
    def store_location(self) -> str | Path:
        """The store: a path (TinyDB), or a `postgresql://` URL, given as is or as `env:NAME`."""
        return locate_store(self.settings.store, self.base_dir())

    @property
    def store_path(self) -> Path:
        """The TinyDB store's path; with PostgreSQL, the stem of the files kept beside the config (cookies)."""
        location = self.store_location
        return location if isinstance(location, Path) else self.base_dir() / "aggregator-store"

    @property
    def store_display(self) -> str:
        """The store as messages name it: a database URL without its password."""
        return redact_url(str(self.store_location))

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.settings.output_dir)

    def worker_count(self) -> int:
        if self.settings.workers is not None:
            return self.settings.workers
        return max(0, min(4, (os.cpu_count() or 1) - 1))

    def interval_of(self, source: Source) -> float:
        return source.interval if source.interval is not None else self.settings.default_interval

    def zone_of(self, source: Source) -> ZoneInfo:
        return ZoneInfo(source.timezone or self.settings.timezone)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


class _LocatedError(ValueError):
    def __init__(self, loc: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _located(loc: tuple[Any, ...], message: str) -> _LocatedError:
    return _LocatedError(loc, message)


DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: object) -> bool:
    """A `store` that names a PostgreSQL database rather than a TinyDB path."""
    return isinstance(location, str) and location.startswith(DATABASE_SCHEMES)


def store_setting_problem(value: str) -> str | None:
    """What is wrong with a `store` value (a path, a database URL, or `env:NAME` holding either)."""
    if value.startswith("env:"):
        name = value[4:].strip()
        if not name:
            return 'write "env:NAME" with the name of an environment variable holding the store URL'
        value = os.environ.get(name, "")
        if not value:
            return f"environment variable {name} is not set; export it with the store's URL or path"
    return database_url_problem(value) if is_database_url(value) else None


def locate_store(value: str, base: Path) -> str | Path:
    """The store a `store` value names: a database URL (`env:NAME` read now), else a path relative to `base`."""
    if value.startswith("env:"):
        value = os.environ.get(value[4:].strip(), "")  # its presence was checked at load
    if is_database_url(value):
        return value
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def redact_url(location: str) -> str:
    """A database URL with its password replaced by ***; paths unchanged.

    Split at the last '@': a password written without percent-encoding may hold '@' or '/'.
    """
    scheme, sep, rest = location.partition("://")
    if not sep or not scheme.startswith("postgres"):
        return location
    userinfo, at, host = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:***@{host}"
    rest = re.sub(r"([?&]password=)[^&]*", r"\1***", rest)
    return f"{scheme}://{rest}"


def database_url_problem(url: str) -> str | None:
    """What is wrong with a postgresql:// URL that libpq would misread (and echo back), if anything."""
    rest = url.partition("://")[2]
    userinfo = rest.rpartition("@")[0]
    if any(char in userinfo for char in "@/?#"):
        return (
            "percent-encode the special characters of the user name and password"
            " (@ as %40, / as %2F, ? as %3F, # as %23), e.g. postgresql://feeds:p%40ss@host/db"
        )
    return None
