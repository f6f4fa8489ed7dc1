"""Config stage: read a TOML file of subscriptions and validate it.

A bad config is refused with a `ConfigError` naming the file, the key, the
line (where it can be found) and what is allowed.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

MIN_INTERVAL = 60
MAX_INTERVAL = 7 * 24 * 3600
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ConfigError(Exception):
    """A config that cannot be used; the message says where and how to fix it."""


def parse_duration(value: Any) -> float:
    """Seconds from an int/float or a string such as "90s", "30m", "2h", "1d"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 2h or 3600")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 30m, 2h, 1d or a number of seconds")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 30m, 2h, 1d or a number of seconds")


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if any(char.isspace() for char in value):
        raise ValueError(f"{value!r} contains whitespace; write a space as %20 (or remove it)")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _check_url(str(v)) if isinstance(v, str) else v)]


def _check_proxy(value: str) -> str:
    """"" means no proxy (a source's way out of [settings] proxy)."""
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname):
        raise ValueError(f"proxy {value!r} must be http://, https://, socks5:// or socks5h://HOST:PORT (or \"\" for none)")
    return value


def _check_optional_url(value: str) -> str:
    return _check_url(value) if value else value


ProxyUrl = Annotated[str, BeforeValidator(lambda v: _check_proxy(v) if isinstance(v, str) else v)]
# "" switches a default from [settings] off for one source.
OptionalUrl = Annotated[str, BeforeValidator(lambda v: _check_optional_url(v) if isinstance(v, str) else v)]


def _check_selector(value: str) -> str:
    """Selectors are CSS, optionally ending in `@attr` to read an attribute."""
    css, _, attr = value.rpartition("@") if "@" in value else (value, "", "")
    css = css.strip()
    if not css:
        raise ValueError(f"selector {value!r} has no CSS part before '@'")
    if attr and not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", attr.strip()):
        raise ValueError(f"selector {value!r}: {attr!r} is not an attribute name")
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<p></p>").css(css)
    except Exception as exc:  # lexbor raises plain Exceptions on bad selectors
        raise ValueError(f"selector {css!r} is not valid CSS: {exc}") from None
    return value


Selector = Annotated[str, BeforeValidator(lambda v: _check_selector(v) if isinstance(v, str) else v)]


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


def _check_jmespath(value: str) -> str:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        raise ValueError(f"{value!r} is not a JMESPath expression: {exc}") from None
    return value


JMESPath = Annotated[str, BeforeValidator(lambda v: _check_jmespath(v) if isinstance(v, str) else v)]


class JsonQuery(Strict):
    """How to read items from a JSON list API: JMESPath expressions, and the request to send."""

    items: JMESPath  # the list of items in the answer
    title: JMESPath = "title"  # the rest are read from each item
    link: JMESPath = "url"
    date: JMESPath | None = None  # Unix seconds (or ms), or date text
    summary: JMESPath | None = None
    method: Literal["GET", "POST"] = "GET"
    form: dict[str, str] | None = None  # POST as application/x-www-form-urlencoded
    body: dict[str, Any] | list[Any] | None = None  # POST as application/json
    headers: dict[str, str] = Field(default_factory=dict)
    next_page: str | None = None  # older pages: "page={page}", a URL template with {page}, or {page} in form/body

    @model_validator(mode="after")
    def _request_shape(self) -> JsonQuery:
        if self.form is not None and self.body is not None:
            raise ValueError("give either `form` or `body`, not both")
        if (self.form is not None or self.body is not None) and self.method != "POST":
            raise ValueError('`form` and `body` are sent with method = "POST"; add it')
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


class ArticleSelectors(Strict):
    """How to read fields from an article page; each is optional."""

    title: Selector | None = None
    date: Selector | None = None
    body: Selector | None = None
    source: Selector | None = None
    author: Selector | None = None
    remove: list[Selector] = Field(default_factory=list)  # boilerplate inside the body


class Rules(Strict):
    """Keyword / regex rules over an item's title, body and source name."""

    include: list[str] = Field(default_factory=list)  # any match adds the item
    exclude: list[str] = Field(default_factory=list)  # any match removes it
    fields: list[Literal["title", "body", "source"]] = Field(
        default_factory=lambda: ["title", "body"]
    )

    @field_validator("include", "exclude")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if pattern.startswith("re:"):
                try:
                    re.compile(pattern[3:])
                except re.error as exc:
                    raise ValueError(f"bad regular expression {pattern[3:]!r}: {exc}") from None
        return patterns


class Category(Strict):
    title: str
    description: str = ""
    rules: Rules | None = None  # items of any source matching these join the category
    feed_entries: int | None = Field(default=None, ge=1, le=1000)  # default: settings.feed_entries


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
    # Where the source came from: a catalog entry id / a CMS preset (aggregator.catalog); already expanded.
    catalog: str | None = None
    preset: str | None = None
    # Pages only a browser can read: true renders the list page in headless Chromium on every
    # poll; "auto" only when a plain fetch is a block or challenge page.
    render: bool | Literal["auto"] = False
    wait_for: Selector | None = None  # rendered pages are ready once this matches (default: list.item)

    @model_validator(mode="after")
    def _render_shape(self) -> Source:
        if self.render is True and self.kind in ("feed", "json"):
            raise ValueError(f'render = true reads an HTML page in a browser; with kind = "{self.kind}" use render = "auto" (for a challenge)')
        if self.wait_for is not None and not self.render:
            raise ValueError("`wait_for` is read only with render = true or \"auto\"")
        return self

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from .read import kinds  # the readers register the kinds; read here lazily, config comes first

        known = kinds()
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

    @field_validator("store", "output_dir")
    @classmethod
    def _expandable(cls, value: str) -> str:
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
            if not SLUG.match(slug) or slug in ("all", "health"):
                raise ValueError(
                    f"category name {slug!r} must be lower-case letters, digits, - or _"
                    " (and not 'all' or 'health', which are built in)"
                )
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
        from .catalog import CatalogError, expand

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
    def store_path(self) -> Path:
        return self.resolve(self.settings.store)

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


# Strict types refuse "8080" and "yes"; say what to write instead.
_QUOTED_FIX: dict[str, Any] = {
    "int_type": lambda value: f"write {value.strip()} without quotes" if value.strip().lstrip("-").isdigit() else "write a whole number",
    "float_type": lambda value: "write a number without quotes",
    "bool_type": lambda value: "write true or false without quotes",
}


def _source_named(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """` (source "name")` for a key inside [[sources]], so the user need not count tables."""
    if len(loc) >= 2 and loc[0] in ("sources", "notify") and isinstance(loc[1], int):
        tables = data.get(loc[0])
        if isinstance(tables, list) and loc[1] < len(tables) and isinstance(tables[loc[1]], dict):
            name = tables[loc[1]].get("name") or tables[loc[1]].get("catalog")
            if isinstance(name, str):
                return f' ({loc[0][:-1] if loc[0] == "sources" else loc[0]} "{name}")'
    return ""


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _find_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of a key: tomllib gives positions only for syntax errors."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    rest = list(loc)
    if rest and rest[0] == "sources" and len(rest) > 1 and isinstance(rest[1], int):
        headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*sources\s*\]\]", line)]
        if rest[1] < len(headers):
            start = headers[rest[1]]
            end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
            # Sub-tables such as [sources.list] follow their [[sources]] block.
            if len(rest) > 3 and isinstance(rest[2], str):
                sub = next(
                    (i for i in range(start + 1, len(lines)) if re.match(rf"\s*\[\s*sources\.{re.escape(rest[2])}\s*\]", lines[i])),
                    None,
                )
                if sub is not None:
                    start = sub
                    end = next((i for i in range(sub + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
                    rest = rest[:2] + rest[3:]
        rest = rest[2:]
    elif rest and rest[0] in ("settings", "serve", "categories"):
        table = ".".join(str(p) for p in rest[:2]) if rest[0] == "categories" and len(rest) > 1 else rest[0]
        header = next((i for i, line in enumerate(lines) if re.match(rf"\s*\[\s*{re.escape(table)}\s*\]", line)), None)
        if header is None:
            return None
        start = header
        end = next((i for i in range(header + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
        rest = rest[2:] if rest[0] == "categories" else rest[1:]
        if not rest:
            return header + 1
    key = next((p for p in rest if isinstance(p, str)), None)
    if key is None:
        return start + 1
    if len(loc) == 1 and isinstance(loc[0], str):
        # An unknown top-level key is usually a table: find its [header] or [[header]].
        for i, line in enumerate(lines):
            if re.match(rf"\s*\[\[?\s*{re.escape(key)}\s*[\].]", line):
                return i + 1
    for i in range(start, end):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return start + 1


def parse_config(text: str, path: Path | str = "<config>") -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"]
            ctx_error = (error.get("ctx") or {}).get("error")
            if isinstance(ctx_error, _LocatedError):
                loc, message = ctx_error.loc, ctx_error.message
            elif message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            if error["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}; {_allowed_keys(loc)}"
            elif error["type"] == "list_type" and isinstance(error.get("input"), str):
                message += f"; write a list: [{error['input']!r}]".replace("'", '"')
            elif error["type"] == "missing":
                message = f"required key {loc[-1]!r} is missing"
            elif error["type"] in _QUOTED_FIX and isinstance(error.get("input"), str):
                message += f"; got the string {error['input']!r}: {_QUOTED_FIX[error['type']](error['input'])}".replace("'", '"')
            elif error["type"] == "literal_error" and "input" in error:
                message += f" (got {error['input']!r})".replace("'", '"')
            line = _find_line(text, loc)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {_dotted(loc)}{_source_named(data, loc)}: {message}")
        raise ConfigError("\n".join(problems)) from None
    return config.model_copy(update={"path": path.resolve()})


_MODELS_BY_TABLE: dict[str, type[BaseModel]] = {
    "settings": Settings,
    "serve": ServeSettings,
    "list": ListSelectors,
    "article": ArticleSelectors,
    "json": JsonQuery,
    "keep": Rules,
    "drop": Rules,
    "rules": Rules,
}


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = Config
    if parents:
        last = parents[-1]
        if last in _MODELS_BY_TABLE:
            model = _MODELS_BY_TABLE[last]
        elif last == "sources":
            model = Source
        elif parents[0] == "categories":
            model = Category
    allowed = sorted((field.alias or name) for name, field in model.model_fields.items() if name != "path")
    return "allowed: " + ", ".join(allowed)


# Where a service keeps its data is the service manager's business, not the config file's:
# these override `store` and `output_dir` (the CLI's --store / --output-dir set them too).
ENV_OVERRIDES = {"AGGREGATOR_STORE": "store", "AGGREGATOR_OUTPUT_DIR": "output_dir"}


def overridden_settings(config: Config) -> dict[str, str]:
    """Settings the environment overrides: key -> the variable that set it."""
    return {key: variable for variable, key in ENV_OVERRIDES.items() if os.environ.get(variable)}


def _apply_environment(config: Config) -> Config:
    update = {
        key: str(Path(os.environ[variable]).expanduser().absolute())  # relative to where the command ran
        for key, variable in overridden_settings(config).items()
    }
    if not update:
        return config
    return config.model_copy(update={"settings": config.settings.model_copy(update=update)})


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config must be UTF-8 ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    return _apply_environment(parse_config(text, path))
