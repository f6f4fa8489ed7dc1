"""Scoring rules of the extraction-accuracy benchmark and golden test (issue 10).

Implements the `conventions` block of tests/fixtures/real/manifest.json, so that
bench/bench_accuracy.py and tests/test_golden_real.py judge every extractor the same way:

- title: equal after deleting all whitespace.
- publish_day: the extractor's time, in Asia/Shanghai, falls on the day of `publish_datetime` or
  of one of `publish_datetime_alternatives`. publish_time (only for pages whose
  `publish_datetime` has a time): equal to the primary or an alternative at the precision written
  there (minutes for "HH:MM", seconds for "HH:MM:SS").
- source (来源): equal after deleting all whitespace; an expected null needs an empty answer.
- author: informational only (the manifest's values carry notes); lenient match, see `_author_ok`.
- body_start / body_end: the first / last 30 characters of the body after deleting ALL whitespace
  (\\s, U+3000, U+00A0, U+200B, U+FEFF); `body_first_30_lenient` is an equally accepted start.
- lists: count = exact number of items; first3_titles / first3_links / first3_dates = each of the
  first three items right (title after whitespace deletion; link = the raw href resolved against
  the page's <base href> or URL; date = the day as shown, month and day only when the page shows
  no year, "N分钟前" counted back from NOW); list_exact = count and first three titles.

Also runs OUR extractors on a manifest page through the same pure functions as `aggregator try`
(extract.decode.decode_page + enrich.pages.read_article / read.html.read_list + normalise_all), on the file's bytes.
Nothing here imports a third-party extractor.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "real"
MANIFEST = FIXTURES / "manifest.json"
# Labelled pages collected later (issue 20 on), one folder per group, each with a manifest.json of the
# same format. They are scored beside the first set ("real") and reported per set.
COLLECTED = ROOT / "tests" / "fixtures" / "collected"

ZONE = ZoneInfo("Asia/Shanghai")  # the default `timezone` of the config
# A fixed "now", later than every page, so that relative and year-less dates are reproducible.
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=ZONE)

ARTICLE_FIELDS = ("title", "publish_day", "publish_time", "source", "author", "body_start", "body_end")
LIST_FIELDS = ("count", "first3_titles", "first3_links", "first3_dates", "list_exact")
# The fields the golden test asserts (author is informational, publish_time and list_exact derived).
GOLDEN_FIELDS = {
    "article": ("title", "publish_day", "source", "body_start", "body_end"),
    "list": ("count", "first3_titles", "first3_links", "first3_dates"),
}

_WS = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")


def nows(text: str | None) -> str:
    """`text` with ALL whitespace deleted (the manifest's normalisation)."""
    return _WS.sub("", text or "")


def short(value: object, limit: int = 40) -> str:
    text = "∅" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- manifest


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    """The pages of one manifest, each tagged with its folder (`_folder`) and set name (`_set`)."""
    pages = json.loads(path.read_text(encoding="utf-8"))["pages"]
    name = "real" if path == MANIFEST else f"collected/{path.parent.name}"
    return [{**page, "_folder": path.parent, "_set": name} for page in pages]


def load_all() -> list[dict]:
    """Every labelled page: the first set, then each collected group in name order. File names
    and contents are unique across sets (tests and the bench name pages by file)."""
    pages = load_manifest()
    for manifest in sorted(COLLECTED.glob("*/manifest.json")):
        pages += load_manifest(manifest)
    seen: set[str] = set()
    for page in pages:
        # One page counted twice would weigh twice in every figure.
        for key in ("file", "sha256"):
            if (page[key], key) in seen:
                raise ValueError(f"{page['file']}: its {key} is in another manifest entry; every page is labelled once")
            seen.add((page[key], key))
    return pages


def page_url(page: dict) -> str:
    """The page's real URL when the manifest knows it (dates in URLs matter), else a made-up one."""
    return page["expected"].get("url") or f"http://fixture.invalid/{page['file']}"


def page_bytes(page: dict) -> bytes:
    return (page.get("_folder", FIXTURES) / page["file"]).read_bytes()


# ---------------------------------------------------------------- what an extractor produced


@dataclass
class ArticleResult:
    title: str | None = None
    published: datetime | None = None  # aware, or naive meaning Asia/Shanghai
    source: str | None = None
    author: str | None = None
    body: str | None = None  # plain text


@dataclass
class ListEntry:
    title: str | None
    url: str | None  # absolute
    published: datetime | None


@dataclass
class ListResult:
    items: list[ListEntry] = field(default_factory=list)


@dataclass
class Check:
    field: str
    ok: bool
    got: str  # short forms, for the report
    want: str
    got_full: str = ""


# ---------------------------------------------------------------- dates

_FULL = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:\s*([+-]\d{2}:?\d{2}|Z))?")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/月](\d{1,2})日?")
_AGO = re.compile(r"^(\d+)\s*(秒|分钟|小时|天)前")


@dataclass(frozen=True)
class Expected:
    """A date as written in the manifest: the parts it gives."""

    year: int | None
    month: int
    day: int
    time: tuple[int, ...] | None = None  # (h, m) or (h, m, s)

    def same_day(self, moment: datetime) -> bool:
        local = _local(moment)
        return (self.year is None or local.year == self.year) and (local.month, local.day) == (self.month, self.day)

    def same_time(self, moment: datetime) -> bool:
        if self.time is None or not self.same_day(moment):
            return False
        local = _local(moment)
        return (local.hour, local.minute, local.second)[: len(self.time)] == self.time


def _local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=ZONE) if moment.tzinfo is None else moment.astimezone(ZONE)


def parse_expected(text: str, now: datetime = NOW) -> Expected:
    text = text.strip()
    if m := _FULL.match(text):
        y, mo, d, h, mi, s, off = m.groups()
        when = (int(h), int(mi)) + ((int(s),) if s else ()) if h else None
        if off and when:  # an explicit offset: express it in Asia/Shanghai
            moment = datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00")).astimezone(ZONE)
            return Expected(moment.year, moment.month, moment.day, (moment.hour, moment.minute, moment.second)[: len(when)])
        return Expected(int(y), int(mo), int(d), when)
    if m := _AGO.match(text):
        unit = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}[m.group(2)]
        moment = now - timedelta(**{unit: int(m.group(1))})
        return Expected(moment.year, moment.month, moment.day)
    if m := _MONTH_DAY.match(text):
        return Expected(None, int(m.group(1)), int(m.group(2)))
    raise ValueError(f"manifest date {text!r} is in no form the scorer knows")


def _fmt_moment(moment: datetime | None) -> str:
    if moment is None:
        return "∅"
    local = _local(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- articles


def _author_ok(got: str | None, want: str | None) -> bool:
    """Lenient: any ';'-part of the manifest's value (notes in ' (…)' and a 'label：' dropped)
    equals, contains or is contained in ours."""
    if not want:
        return not nows(got)
    ours = nows(got)
    if not ours:
        return False
    for part in want.split(";"):
        part = re.sub(r"\s\(.*\)$", "", part.strip())
        candidates = {nows(part), nows(re.sub(r"^[^:：]{1,6}[:：]", "", part))}
        candidates |= {c.strip("（）()【】[]") for c in list(candidates)}
        if any(c and (c == ours or (len(ours) >= 2 and (ours in c or c in ours))) for c in candidates):
            return True
    return False


def article_applicable(page: dict, name: str) -> bool:
    """publish_time only where the manifest's primary value has a time."""
    if name == "publish_time":
        return parse_expected(page["expected"]["publish_datetime"]).time is not None
    return True


def score_article(page: dict, got: ArticleResult | None, fields: tuple[str, ...] = ARTICLE_FIELDS) -> dict[str, Check]:
    """Checks for the fields asked (skipping publish_time where no time is given); `got=None`
    (the extractor failed on the page) makes every field wrong."""
    exp = page["expected"]
    got = got or ArticleResult()
    out: dict[str, Check] = {}
    for name in fields:
        if not article_applicable(page, name):
            continue
        if name == "title":
            ok = nows(got.title) == nows(exp["title"])
            out[name] = Check(name, ok, short(got.title), short(exp["title"]), got.title or "∅")
        elif name in ("publish_day", "publish_time"):
            wants = [exp["publish_datetime"], *exp.get("publish_datetime_alternatives", [])]
            parsed = [parse_expected(w) for w in wants]
            if got.published is None:
                ok = False
            elif name == "publish_day":
                ok = any(p.same_day(got.published) for p in parsed)
            else:
                ok = any(p.same_time(got.published) for p in parsed)
            out[name] = Check(name, ok, _fmt_moment(got.published), " | ".join(wants), _fmt_moment(got.published))
        elif name == "source":
            ok = nows(got.source) == nows(exp["source"])
            out[name] = Check(name, ok, short(got.source), short(exp["source"]), got.source or "∅")
        elif name == "author":
            ok = _author_ok(got.author, exp.get("author"))
            out[name] = Check(name, ok, short(got.author), short(exp.get("author")), got.author or "∅")
        elif name == "body_start":
            body = nows(got.body)
            wants = [w for w in (exp["body_first_30"], exp.get("body_first_30_lenient")) if w]
            ok = bool(body) and any(body[: len(w)] == w for w in wants)
            out[name] = Check(name, ok, short(body[:30]), " | ".join(wants), body[:200] or "∅")
        elif name == "body_end":
            body = nows(got.body)
            want = exp["body_last_30"]
            ok = bool(body) and body[-len(want) :] == want
            out[name] = Check(name, ok, short(body[-30:]), want, body[-200:] or "∅")
        else:
            raise KeyError(name)
    return out


# ---------------------------------------------------------------- lists

_BASE = re.compile(r"<base\s[^>]*href\s*=\s*[\"']?([^\"' >]+)", re.I)


def page_base(page: dict, html: str) -> str:
    url = page_url(page)
    if m := _BASE.search(html):
        return urljoin(url, m.group(1))
    return url


def link_key(url: str | None) -> str:
    """Compare links as a browser would: scheme and host case-folded, default port, fragment and
    percent-encoding ignored."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host += f":{port}"
    return f"{parts.scheme.lower()}://{host}{unquote(parts.path) or '/'}" + (f"?{unquote(parts.query)}" if parts.query else "")


def score_list(page: dict, got: ListResult | None, html: str, fields: tuple[str, ...] = LIST_FIELDS) -> dict[str, Check]:
    """`html` is the decoded page (for its <base href>)."""
    exp = page["expected"]
    items = (got or ListResult()).items
    want3 = exp["first_3"]
    ours3 = items[: len(want3)]
    enough = len(ours3) == len(want3)
    base = page_base(page, html)
    out: dict[str, Check] = {}

    count_ok = len(items) == exp["n_items"]
    titles_ok = enough and all(nows(o.title) == nows(w["title"]) for o, w in zip(ours3, want3))
    for name in fields:
        if name == "count":
            out[name] = Check(name, count_ok, str(len(items)), str(exp["n_items"]))
        elif name == "first3_titles":
            out[name] = Check(name, titles_ok, " / ".join(short(o.title, 20) for o in ours3) or "∅",
                              " / ".join(short(w["title"], 20) for w in want3),
                              "\n".join(o.title or "∅" for o in ours3) or "∅")
        elif name == "first3_links":
            wants = [urljoin(base, w["href"]) for w in want3]
            ok = enough and all(link_key(o.url) == link_key(w) for o, w in zip(ours3, wants))
            out[name] = Check(name, ok, " ".join(short(o.url, 60) for o in ours3) or "∅", " ".join(short(w, 60) for w in wants),
                              "\n".join(o.url or "∅" for o in ours3) or "∅")
        elif name == "first3_dates":
            parsed = [parse_expected(w["date"]) for w in want3]
            ok = enough and all(o.published is not None and p.same_day(o.published) for o, p in zip(ours3, parsed))
            out[name] = Check(name, ok, " / ".join(_fmt_moment(o.published)[:16] for o in ours3) or "∅",
                              " / ".join(w["date"] for w in want3))
        elif name == "list_exact":
            out[name] = Check(name, count_ok and titles_ok, f"{len(items)} items, titles {'ok' if titles_ok else 'wrong'}",
                              f"{exp['n_items']} items")
        else:
            raise KeyError(name)
    return out


def score(page: dict, got: ArticleResult | ListResult | None, html: str = "", fields: tuple[str, ...] | None = None) -> dict[str, Check]:
    if page["kind"] == "article":
        return score_article(page, got, fields or ARTICLE_FIELDS)  # type: ignore[arg-type]
    return score_list(page, got, html, fields or LIST_FIELDS)  # type: ignore[arg-type]


# ---------------------------------------------------------------- our extractors


def decode(page: dict, body: bytes | None = None) -> str:
    """The page as our pipeline decodes it (what every extractor is handed)."""
    from aggregator.extract.decode import decode_page

    return decode_page(page_bytes(page) if body is None else body, None, None, page_url(page))


def run_ours(page: dict, body: bytes | None = None) -> ArticleResult | ListResult:
    """Our extractor on the page's bytes, through the functions `aggregator try` uses
    (aggregator.preview: read_article, or read_list + normalise_all), minus the fetch."""
    from aggregator.config import Source
    from aggregator.models import FetchResult
    from aggregator.enrich.pages import read_article
    from aggregator.normalise import normalise_all
    from aggregator.read.html import read_list

    url = page_url(page)
    body = page_bytes(page) if body is None else body
    result = FetchResult(url=url, status=200, body=body, content_type="text/html")  # no charset: the file has no header
    source = Source.model_validate({"name": "bench", "url": url})
    if page["kind"] == "article":
        art = read_article(result, source, ZONE, NOW)
        return ArticleResult(title=art.title, published=art.published, source=art.origin, author=art.author, body=art.content_text)
    listed = read_list(result, source, ZONE, NOW, source.list_selectors)
    items = normalise_all(list(listed.items), source.name, ZONE, NOW)
    return ListResult([ListEntry(i.title, i.url, i.published) for i in items])


# ---------------------------------------------------------------- penalty cases (issue 19)
#
# tests/fixtures/cases/<set>/manifest.json (see tests/fixtures/cases/README.md): each page lists the
# cases a careful reader finds on it, in page order ([] for a page that is not a decision). Scoring:
# short fields equal after normalisation (whitespace removed, brackets unified, full-width letters and
# digits half-width); violation / basis / penalty right when the normalised text (punctuation removed
# too) starts with the label's first 20 characters, ends with its last 20, and is within 10 % of its
# length; fine_yuan exact; a field labelled null is right only when ours is null too. Case i of the page
# is compared with our i-th case; `n cases` is the count, exact.

CASES = ROOT / "tests" / "fixtures" / "cases"
CASE_FIELDS = ("number", "party", "credit_code", "violation", "basis", "penalty", "fine_yuan", "date", "authority")
CASE_LONG = frozenset({"violation", "basis", "penalty"})
CASE_COUNT = "n_cases"
_BRACKETS = str.maketrans({"〔": "(", "［": "(", "[": "(", "（": "(", "【": "(", "〕": ")", "］": ")", "]": ")", "）": ")", "】": ")"})
_HALF_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})


def load_cases() -> list[dict]:
    """Every labelled case page, tagged with its folder and set (`cases/tables`, `cases/texts`)."""
    pages: list[dict] = []
    for manifest in sorted(CASES.glob("*/manifest.json")):
        for page in json.loads(manifest.read_text(encoding="utf-8"))["pages"]:
            pages.append({**page, "_folder": manifest.parent, "_set": f"cases/{manifest.parent.name}"})
    seen: set[tuple[str, str]] = set()
    for page in pages:
        for key in ("file", "sha256"):
            if (page[key], key) in seen:
                raise ValueError(f"{page['file']}: its {key} is in another case manifest entry; every page is labelled once")
            seen.add((page[key], key))
    return pages


def case_short(text: object) -> str:
    """A short field as scored: whitespace removed, brackets unified, full-width made half-width."""
    return nows(str(text)).translate(_HALF_WIDTH).translate(_BRACKETS) if text is not None else ""


def case_long(text: object) -> str:
    """A long field as scored: case_short with punctuation (and symbols) removed too."""
    import unicodedata

    return "".join(ch for ch in case_short(text) if not unicodedata.category(ch).startswith(("P", "S")))


def case_field_ok(name: str, got: object, want: object) -> bool:
    if want is None:
        return got is None
    if got is None:
        return False
    if name == "fine_yuan":
        return got == want
    if name not in CASE_LONG:
        return case_short(got) == case_short(want)
    ours, label = case_long(got), case_long(want)
    return ours.startswith(label[:20]) and ours.endswith(label[-20:]) and abs(len(ours) - len(label)) <= 0.1 * len(label)


def score_cases(page: dict, got: list[dict] | None) -> dict[str, list[Check]]:
    """field -> one Check per labelled case (and `n_cases` -> one Check for the page);
    `got` None (the extractor failed) makes every field of every case wrong."""
    wants: list[dict] = page["cases"]
    ours = got or []
    out: dict[str, list[Check]] = {CASE_COUNT: [Check(CASE_COUNT, got is not None and len(ours) == len(wants), str(len(ours)), str(len(wants)))]}
    for name in CASE_FIELDS:
        checks = []
        for at, want in enumerate(wants):
            value = ours[at].get(name) if at < len(ours) else None
            ok = got is not None and case_field_ok(name, value, want.get(name))
            checks.append(Check(f"{name}[{at}]", ok, short(value), short(want.get(name)), "" if value is None else str(value)))
        out[name] = checks
    return out


def run_cases(page: dict) -> list[dict]:
    """Our cases for a page, through the functions a poll uses: an HTML page read as an article
    (decode_page + read_article: page.cases); a PDF/DOCX as the worker reads attachments
    (read_document) and then case_in_text."""
    from aggregator.config import Source
    from aggregator.enrich.pages import read_article
    from aggregator.extract.attachments import document_type, read_document
    from aggregator.extract.cases import case_in_text
    from aggregator.models import Enclosure, FetchResult

    body = (page["_folder"] / page["file"]).read_bytes()
    url = page.get("url") or f"http://fixture.invalid/{page['file']}"
    kind = document_type(page["file"], "")
    if kind and not page["file"].lower().endswith((".html", ".htm", ".shtml")):
        text = read_document(body, Enclosure(url, kind), max_bytes=len(body) + 1, seconds=60.0).text
        case = case_in_text(text)
        return [case.as_dict()] if case else []
    result = FetchResult(url=url, status=200, body=body, content_type="text/html")
    source = Source.model_validate({"name": "bench", "url": url})
    return [case.as_dict() for case in read_article(result, source, ZONE, NOW).cases]
