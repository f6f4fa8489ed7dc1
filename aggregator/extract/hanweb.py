"""Paging and list records of two CMS families common on Chinese government sites.

* Hanweb JCMS (`*.zj.gov.cn/col/colNNN/index.html`): list items are not in the
  DOM but in `<script type="text/xml"><datastore>…<record><![CDATA[<li>…</li>]]>`;
  further records come from a POST to `/module/jpage/dataproxy.jsp?startrecord=
  &endrecord=&perpage=` with form fields the page's jpage script carries.
* TRS WCM (mee.gov.cn and many others): `createPageHTML(total, current, 'index',
  'html')` writes a pager whose pages are `index_1.html`, `index_2.html`, …

Everything here is pure text processing: no HTTP.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urljoin, urlsplit

__all__ = [
    "DataproxyRequest",
    "PageRequest",
    "Paging",
    "find_records",
    "dataproxy_requests",
    "trs_page_urls",
    "detect_paging",
    "MAX_PAGES",
]

MAX_PAGES = 50  # the most pages a source may backfill (config: backfill_pages <= 50)
DEFAULT_PER_PAGE = 15  # jpage's default when the page does not say
DEFAULT_GROUP_SIZE = 3  # jpage fetches this many display pages per request

_DATASTORE = re.compile(r"<datastore\b[^>]*>(.*?)(?:</datastore>|$)", re.IGNORECASE | re.DOTALL)
_RECORD = re.compile(r"<record\b[^>]*>(.*?)</record>", re.IGNORECASE | re.DOTALL)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_NEXTGROUP = re.compile(r"<nextgroup\b[^>]*>(.*?)</nextgroup>", re.IGNORECASE | re.DOTALL)
_FORM_KEYS = ("col", "appid", "webid", "path", "columnid", "sourceContentType", "unitid", "webname", "permissiontype")
# `key: value` / `key = 'value'` pairs in the jpage call (`ajaxParam: {...}`) or elsewhere in scripts.
_JS_PARAM = re.compile(
    r"(?<![\w.])[\"']?(?P<key>" + "|".join(_FORM_KEYS) + r")[\"']?\s*[:=]\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[\w./%-]+))",
)
_JS_NUMBER = {
    "per_page": re.compile(r"\bperPage\s*[:=]\s*[\"']?(\d+)", re.IGNORECASE),
    "total": re.compile(r"\btotalRecord\s*[:=]\s*[\"']?(\d+)", re.IGNORECASE),
    "group": re.compile(r"\bgroupSize\s*[:=]\s*[\"']?(\d+)", re.IGNORECASE),
}
_PROXY_URL = re.compile(r"\bproxyUrl\s*[:=]\s*[\"']([^\"']+dataproxy\.jsp)[\"']", re.IGNORECASE)
_DEFAULT_PROXY = "/module/jpage/dataproxy.jsp"
_CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^)]{0,200})\)")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One further list page to fetch; POST when `form` is given."""

    url: str
    form: tuple[tuple[str, str], ...] = ()

    @property
    def method(self) -> Literal["GET", "POST"]:
        return "POST" if self.form else "GET"


@dataclass(frozen=True, slots=True)
class DataproxyRequest(PageRequest):
    """A Hanweb jpage request for records `start`..`end` (1-based, inclusive)."""

    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Paging:
    """How a list page continues. `requests` holds up to MAX_PAGES further pages, nearest first."""

    kind: Literal["hanweb", "trs"]
    total: int | None = None  # total records (hanweb) or pages (trs), when the page says
    requests: tuple[PageRequest, ...] = field(default_factory=tuple)


def _record_html(raw: str) -> str:
    match = _CDATA.search(raw)
    if match:
        return match.group(1).strip()
    return _html.unescape(raw).strip()  # records written as escaped text instead of CDATA


def _datastores(text: str) -> list[str]:
    if "<datastore" not in text and "<DATASTORE" not in text:
        return []
    return [m.group(1) for m in _DATASTORE.finditer(text)]


def find_records(html: str) -> list[str] | None:
    """The HTML snippets of a Hanweb page's (or dataproxy response's) records.

    None when there is no `<datastore>`, so the caller knows the page is not
    Hanweb-driven. With several datastores (side lists), the largest one is the list.
    """
    stores = _datastores(html)
    if not stores:
        return None
    best: list[str] = []
    for store in stores:
        records = [r for r in (_record_html(m.group(1)) for m in _RECORD.finditer(store)) if r]
        if len(records) > len(best):
            best = records
    return best


def _params(html: str) -> dict[str, str]:
    params: dict[str, str] = {}
    # The nextgroup link carries the same parameters URL-encoded; read it first
    # so that the jpage script, which is more complete, wins where both exist.
    for store in _datastores(html):
        group = _NEXTGROUP.search(store)
        if group:
            href = re.search(r"href\s*=\s*[\"']([^\"']+)", _record_html(group.group(1)))
            if href:
                query = urlsplit(_html.unescape(href.group(1))).query
                for key, value in parse_qsl(query, keep_blank_values=True):
                    if key in _FORM_KEYS:
                        params[key] = value
    for match in _JS_PARAM.finditer(html):
        value = match.group("dq") if match.group("dq") is not None else match.group("sq")
        if value is None:
            value = match.group("bare")
        if value or match.group("key") not in params:
            params[match.group("key")] = value
    return params


def _number(html: str, key: str) -> int | None:
    match = _JS_NUMBER[key].search(html)
    return int(match.group(1)) if match else None


def dataproxy_requests(html: str, page_url: str, pages: int) -> list[DataproxyRequest]:
    """POST requests for the next `pages` groups of records after those on the page.

    Each request asks for as many records as the site's own pager does
    (perPage x groupSize), starting after the records already in the page;
    requests stop at `totalRecord` when the page states it. [] when the page
    carries no jpage parameters (columnid and unitid are the minimum).
    """
    if pages <= 0:
        return []
    params = _params(html)
    if not params.get("columnid") or not params.get("unitid"):
        return []
    form = {"col": "1", "appid": "1", "path": "/", "sourceContentType": "1", "permissiontype": "0"}
    form.update(params)
    ordered = tuple((key, form[key]) for key in _FORM_KEYS if key in form)
    per_page = _number(html, "per_page") or DEFAULT_PER_PAGE
    group = _number(html, "group") or DEFAULT_GROUP_SIZE
    step = max(1, per_page * group)
    total = _number(html, "total")
    on_page = len(find_records(html) or [])
    proxy = _PROXY_URL.search(html)
    endpoint = urljoin(page_url, proxy.group(1) if proxy else _DEFAULT_PROXY)
    requests: list[DataproxyRequest] = []
    start = on_page + 1
    for _ in range(min(pages, MAX_PAGES)):
        if total is not None and start > total:
            break
        end = start + step - 1
        if total is not None:
            end = min(end, total)
        url = f"{endpoint}?startrecord={start}&endrecord={end}&perpage={per_page}"
        requests.append(DataproxyRequest(url=url, form=ordered, start=start, end=end))
        start = end + 1
    return requests


def _create_page_args(html: str) -> tuple[int, str, str] | None:
    """(total pages, file stem, extension) from a TRS createPageHTML call."""
    match = _CREATE_PAGE.search(html)
    if not match:
        return None
    args = [a.strip().strip("\"'") for a in match.group(1).split(",")]
    numbers = [int(a) for a in args if a.isdigit()]
    words = [a for a in args if a and not a.isdigit()]
    # Two call shapes exist: (total, current, 'index', 'html') and
    # ('pager_div', total, current, 'index', 'html', records); the stem/ext pair is last.
    if len(numbers) < 1 or len(words) < 2:
        return None
    stem, ext = words[-2], words[-1]
    if not re.fullmatch(r"[\w-]+", stem) or not re.fullmatch(r"[A-Za-z]+", ext):
        return None
    return numbers[0], stem, ext


def trs_page_urls(html: str, page_url: str, pages: int) -> list[str]:
    """`index_1.html` … for the next `pages` pages of a TRS list (fewer if the list is shorter)."""
    args = _create_page_args(html)
    if args is None or pages <= 0:
        return []
    total, stem, ext = args
    count = min(pages, max(0, total - 1), MAX_PAGES)
    return [urljoin(page_url, f"{stem}_{n}.{ext}") for n in range(1, count + 1)]


def detect_paging(html: str, page_url: str) -> Paging | None:
    """Which paging scheme a list page uses, with its further pages."""
    if _datastores(html):
        requests = dataproxy_requests(html, page_url, MAX_PAGES)
        if requests or find_records(html) is not None:
            return Paging("hanweb", _number(html, "total"), tuple(requests))
    args = _create_page_args(html)
    if args is not None:
        return Paging("trs", args[0], tuple(PageRequest(u) for u in trs_page_urls(html, page_url, MAX_PAGES)))
    return None
