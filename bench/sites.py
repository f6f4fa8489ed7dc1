"""Synthetic Chinese government sites for the benchmarks, and a fast local server for them.

The generator builds, deterministically from a seed:
- Hanweb (jcms, Zhejiang) column pages: items inside `<script type="text/xml"><datastore>
  <recordset><record><![CDATA[<li>…</li>]]>`, articles at `/art/YYYY/M/D/art_COL_ID.html` with
  `发布日期：` / `信息来源：` and the body in `<div id="zoom">`;
- TRS (WCM) column pages: `<ul class="list"><li><a href="./202305/t20230512_1.shtml">…</a>
  <span>[2023-05-12]</span>`, articles with `时间：… 来源：…` and `<div class="TRS_Editor">`;
- RSS 2.0 and Atom feeds of 20 entries.
Half the HTML sites are GBK (declared in the header and a <meta>), half UTF-8. Pages carry the
navigation, footer and script boilerplate of real gov pages (tens of KB); article bodies have
2,000-4,000 CJK characters.

Each source lives on its own loopback address (127.0.0.2, 127.0.0.3, ...), several sources per
address like the columns of one real site. The Fetcher allows one request at a time per host
(`host_concurrency = 1`); putting every source on 127.0.0.1 would serialise the whole poll behind
that per-host limit, which no real deployment of hundreds of distinct sites sees.

The server runs in its own process (`python -m bench.sites serve ...`), so its CPU is not charged
to the poller, and serves pre-rendered (and pre-gzipped) bytes from memory over keep-alive
HTTP/1.1 on asyncio. Control endpoints on the first host: GET /__stats, GET /__log (URLs requested
since the last reset), POST /__reset, POST /__advance (every list and feed gains one new item).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

ITEMS_PER_LIST = 20
CONTROL = "/__"

# -- text ------------------------------------------------------------------------------------

_PHRASES = (
    "生态环境部", "省生态环境厅", "市生态环境局", "执法检查", "环境违法案件", "挂牌督办", "排污许可",
    "自动监测数据", "弄虚作假", "偷排偷放", "大气污染防治", "水污染防治", "土壤污染", "固体废物",
    "危险废物", "环境影响评价", "突出生态环境问题", "中央生态环境保护督察", "整改落实", "长江保护修复",
    "黄河生态保护", "碳达峰碳中和", "温室气体排放", "重点排污单位", "行政处罚", "责令改正", "罚款",
    "万元", "依法查处", "立案调查", "移送公安机关", "按日连续处罚", "查封扣押", "限制生产", "停产整治",
    "信息公开", "公众参与", "举报热线", "专项行动", "绿剑", "清废行动", "蓝天保卫战", "碧水保卫战",
    "净土保卫战", "生物多样性", "自然保护地", "饮用水水源地", "黑臭水体", "入河排污口", "工业园区",
    "挥发性有机物", "臭氧污染", "细颗粒物", "PM2.5浓度", "同比下降", "百分点", "优良天数比例",
    "地表水", "国控断面", "水质优良", "监测站点", "数据质量", "第三方机构", "环境监测", "会议强调",
    "要坚持", "以习近平生态文明思想为指导", "深入打好污染防治攻坚战", "推动高质量发展", "进一步压实责任",
    "切实加强", "统筹推进", "建立健全", "长效机制", "各地区各部门", "认真贯彻落实", "据了解",
    "截至目前", "全省共", "累计", "共计", "其中", "下一步", "将继续", "严厉打击", "形成有力震慑",
)
_PUNCT = "，，，。；、"


def cjk_text(rng: random.Random, chars: int) -> list[str]:
    """Paragraphs of plausible gov-news Chinese totalling about `chars` characters."""
    paragraphs, current, total = [], [], 0
    while total < chars:
        phrase = rng.choice(_PHRASES)
        current.append(phrase + rng.choice(_PUNCT))
        total += len(phrase) + 1
        if rng.random() < 0.04:
            current.append(f"{rng.randint(2, 999)}家企业{rng.choice(_PUNCT)}")
        if len(current) > rng.randint(12, 30):
            paragraphs.append("".join(current).rstrip("，；、") + "。")
            current = []
    if current:
        paragraphs.append("".join(current).rstrip("，；、") + "。")
    return paragraphs


def title_text(rng: random.Random) -> str:
    return "".join(rng.choice(_PHRASES) for _ in range(rng.randint(3, 6)))


_NAV = "".join(
    f'<li><a href="/col/col{1000 + n}/index.html" target="_blank">{name}</a></li>'
    for n, name in enumerate(
        ("首页", "机构概况", "新闻动态", "政务公开", "政策法规", "环境质量", "执法监管", "行政许可", "公众参与",
         "专题专栏", "互动交流", "办事服务", "数据发布", "应急管理", "信用评价", "督察整改")
    )
)
_FOOTER = (
    '<div class="footer"><p>主办单位：某省生态环境厅　　地址：某市某路1号　　邮编：310000</p>'
    '<p>网站标识码：3300000001　　<a href="https://beian.miit.gov.cn/">浙ICP备05000000号</a>'
    '　　<img src="/images/jgbs.png" alt="党政机关"> 浙公网安备 33010602000001号</p>'
    '<p>本网站由某省生态环境厅主办，未经授权不得转载。建议使用1366×768分辨率浏览。</p></div>'
)
_SCRIPTS = (
    '<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>'
    '<script type="text/javascript" src="/module/jslib/urite/urite.min.js"></script>'
    "<script>var _hmt = _hmt || [];(function(){var hm=document.createElement('script');"
    "hm.src='https://hm.baidu.com/hm.js?0000000000';var s=document.getElementsByTagName('script')[0];"
    "s.parentNode.insertBefore(hm,s);})();</script>"
)
_STYLE = "<style>" + "".join(f".c{n}{{margin:{n}px;padding:{n % 7}px;color:#{n:03x}}}" for n in range(300)) + "</style>"


def _head(title: str, charset: str, extra: str = "") -> str:
    return (
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        f"<title>{escape(title)}</title>{extra}{_STYLE}{_SCRIPTS}</head><body>"
        f'<div class="top"><div class="logo"><img src="/images/logo.png"></div><ul class="nav">{_NAV}</ul></div>'
    )


# -- the site model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    name: str
    host: str  # "127.0.0.N"
    path: str
    kind: str  # "hanweb" | "trs" | "rss" | "atom"
    charset: str  # "gbk" | "utf-8"
    column: int
    validators: bool  # sends ETag/Last-Modified (half the sites do not; they rely on the body hash)

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}{self.path}"

    @property
    def is_feed(self) -> bool:
        return self.kind in ("rss", "atom")


def host_address(n: int) -> str:
    """The n-th site's loopback address: 127.0.0.2, ..., 127.0.1.1, ... (127/8 is all loopback on Linux)."""
    m = n + 1  # 127.0.0.1 is left for the control endpoints
    return f"127.0.{m // 254}.{m % 254 + 1}"


class SiteSet:
    """Every page of every synthetic site; list pages change only when `advance()` is called."""

    def __init__(self, *, html_sources: int = 800, feed_sources: int = 200, per_host: int = 5, seed: int = 1) -> None:
        self.seed = seed
        self.generation = 0
        self.today = date.today()
        self.sources: list[SourceSpec] = []
        total = html_sources + feed_sources
        hosts = max(1, -(-total // per_host))
        # Round-robin over hosts so neighbouring sources (polled together) are on different hosts.
        n_html = n_feed = 0
        for index in range(total):
            host_n = index % hosts
            host = host_address(host_n)
            charset = "gbk" if host_n % 2 == 0 else "utf-8"
            hanweb = host_n % 4 < 2
            feed_slot = (index // hosts) == per_host - 1  # the last column of each host is a feed
            if (feed_slot and n_feed < feed_sources) or n_html >= html_sources:
                kind = "rss" if n_feed % 2 == 0 else "atom"
                spec = SourceSpec(f"feed-{n_feed:04d}", host, f"/rss/{n_feed}.xml", kind, "utf-8", n_feed, n_feed % 2 == 0)
                n_feed += 1
            else:
                column = 1200 + n_html
                path = f"/col/col{column}/index.html" if hanweb else f"/xwzx/c{column}/index.shtml"
                spec = SourceSpec(
                    f"html-{n_html:04d}", host, path, "hanweb" if hanweb else "trs", charset, column, n_html % 2 == 0
                )
                n_html += 1
            self.sources.append(spec)
        self._by_path = {(s.host, s.path): s for s in self.sources}
        self._articles: dict[tuple[str, str], tuple[SourceSpec, int]] = {}
        self._cache: dict[tuple[str, str, int], Page] = {}

    # Item n of a source is its n-th article ever; a list at generation g shows items g .. g+19, newest first.
    def _item_ids(self, spec: SourceSpec) -> list[int]:
        top = self.generation + ITEMS_PER_LIST - 1
        return list(range(top, top - ITEMS_PER_LIST, -1))

    def _item_date(self, spec: SourceSpec, n: int) -> datetime:
        # Newest item dated today; each older one a few hours earlier. Never in the future.
        age_hours = (self.generation + ITEMS_PER_LIST - 1 - n) * 7 + spec.column % 5
        base = datetime.combine(self.today, datetime.min.time()).replace(hour=9, tzinfo=timezone(timedelta(hours=8)))
        return base - timedelta(hours=age_hours)

    def _rng(self, spec: SourceSpec, n: int) -> random.Random:
        return random.Random(f"{self.seed}/{spec.column}/{spec.kind}/{n}")

    def _title(self, spec: SourceSpec, n: int) -> str:
        return f"{title_text(self._rng(spec, n))}（{spec.column}-{n}）"

    def _article_path(self, spec: SourceSpec, n: int) -> str:
        day = self._item_date(spec, n)
        art_id = spec.column * 100000 + n
        if spec.kind == "hanweb":
            return f"/art/{day.year}/{day.month}/{day.day}/art_{spec.column}_{art_id}.html"
        return f"/xwzx/c{spec.column}/{day:%Y%m}/t{day:%Y%m%d}_{art_id}.shtml"

    def _register_articles(self, spec: SourceSpec) -> None:
        for n in self._item_ids(spec):
            self._articles[(spec.host, self._article_path(spec, n))] = (spec, n)

    def advance(self) -> None:
        """Every list and feed gains one new item at the top (the oldest drops off)."""
        self.generation += 1
        self._cache = {k: v for k, v in self._cache.items() if k[2] == -1}  # articles never change

    # -- rendering ---------------------------------------------------------------------------

    def _encode(self, text: str, charset: str) -> bytes:
        return text.encode("gb18030" if charset == "gbk" else "utf-8", "xmlcharrefreplace")

    def _validators(self, spec: SourceSpec, body: bytes) -> tuple[str | None, str | None]:
        if not spec.validators:
            return None, None
        etag = '"' + hashlib.md5(body).hexdigest()[:16] + '"'
        modified = format_datetime(self._item_date(spec, self._item_ids(spec)[0]).astimezone(timezone.utc), usegmt=True)
        return etag, modified

    def _list_page(self, spec: SourceSpec) -> Page:
        self._register_articles(spec)
        column_name = f"执法监管{spec.column}"
        rows = []
        for n in self._item_ids(spec):
            title, day, href = self._title(spec, n), self._item_date(spec, n), self._article_path(spec, n)
            if spec.kind == "hanweb":
                rows.append(
                    f'<record><![CDATA[<li><a href="{href}" title="{escape(title)}" target="_blank">{escape(title)}</a>'
                    f"<span>{day:%Y-%m-%d}</span></li>]]></record>"
                )
            else:
                rel = "./" + href.rsplit("/", 2)[-2] + "/" + href.rsplit("/", 1)[-1]
                rows.append(
                    f'<li><a href="{rel}" target="_blank" title="{escape(title)}">{escape(title)}</a>'
                    f'<span class="date">[{day:%Y-%m-%d}]</span></li>'
                )
        sidebar = "".join(
            f'<li><a href="/art/2020/1/{d}/art_9_{d}.html">最新信息：{_PHRASES[d]}{_PHRASES[d + 1]}</a></li>' for d in range(1, 11)
        )
        if spec.kind == "hanweb":
            main = (
                f'<div class="list-box"><div class="bt">{column_name}</div><div id="{spec.column}">'
                '<script type="text/xml"><datastore>'
                f"<nextgroup><![CDATA[<a href=\"/module/jpage/dataproxy.jsp?page=1&webid=1&path=/&columnid={spec.column}"
                f'&unitid=5405&webname=%E6%B5%99%E6%B1%9F&permissiontype=0"></a>]]></nextgroup>'
                f"<recordset>{''.join(rows)}</recordset></datastore></script>"
                f'<script language="javascript" src="/module/jslib/jquery/jpage.js"></script></div></div>'
            )
        else:
            main = (
                f'<div class="list-box"><div class="bt">{column_name}</div><ul class="list">{"".join(rows)}</ul>'
                '<div class="page"><script>var countPage = 10;createPageHTML(countPage, 0, "index", "shtml");</script></div></div>'
            )
        text = (
            _head(f"{column_name} 某省生态环境厅", spec.charset)
            + f'<div class="main"><div class="left"><ul class="side">{sidebar}</ul></div>{main}</div>{_FOOTER}</body></html>'
        )
        body = self._encode(text, spec.charset)
        etag, modified = self._validators(spec, body)
        return Page(body, f"text/html; charset={'GBK' if spec.charset == 'gbk' else 'UTF-8'}", etag, modified)

    def _article_page(self, spec: SourceSpec, n: int) -> Page:
        rng = self._rng(spec, n)
        title, day = self._title(spec, n), self._item_date(spec, n)
        paragraphs = cjk_text(rng, rng.randint(2000, 4000))
        body_html = "".join(f"<p>　　{escape(p)}</p>" for p in paragraphs)
        origin = rng.choice(("省生态环境厅", "生态环境部", "某市生态环境局", "中国环境报"))
        if spec.kind == "hanweb":
            main = (
                f'<div class="con"><p class="con-title"><!--<$[标题]>begin-->{escape(title)}<!--<$[标题]>end--></p>'
                f'<div class="small-title clearfix"><span>发布日期：{day:%Y-%m-%d}</span><span>浏览次数： </span>'
                f"<span>信息来源：<!--<$[信息来源]>begin-->{origin}<!--<$[信息来源]>end--></span></div>"
                f'<div class="main-txt" id="zoom"><!--<$[信息内容]>begin--><!--ZJEG_RSS.content.begin-->'
                f'<meta name="ContentStart">{body_html}<meta name="ContentEnd"><!--ZJEG_RSS.content.end--></div>'
                '<div class="main-word"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div></div>'
            )
            meta = f'<meta name="ArticleTitle" content="{escape(title)}"><meta name="PubDate" content="{day:%Y-%m-%d %H:%M}">'
        else:
            main = (
                f'<div class="article"><h1 class="title">{escape(title)}</h1>'
                f'<div class="info">时间：{day:%Y-%m-%d %H:%M:%S}　来源：{origin}　作者：</div>'
                f'<div class="TRS_Editor">{body_html}</div>'
                '<div class="disclaimer">免责声明：本网站所转载的内容，均来自于其他媒体，转载目的在于传递更多信息。</div></div>'
            )
            meta = f'<meta name="ArticleTitle" content="{escape(title)}">'
        related = "".join(f'<li><a href="/art/2020/2/{d}/art_9_{d}.html">{_PHRASES[d]}{_PHRASES[d + 2]}</a></li>' for d in range(1, 9))
        text = (
            _head(title, spec.charset, meta)
            + f'<div class="main">{main}<div class="related"><h3>相关信息</h3><ul>{related}</ul></div></div>{_FOOTER}</body></html>'
        )
        return Page(self._encode(text, spec.charset), f"text/html; charset={'GBK' if spec.charset == 'gbk' else 'UTF-8'}")

    def _feed(self, spec: SourceSpec) -> Page:
        entries = []
        for n in self._item_ids(spec):
            rng = self._rng(spec, n)
            title, day = self._title(spec, n), self._item_date(spec, n)
            link = f"http://{spec.host}/news/{spec.column}/{n}.html"
            text = "".join(f"<p>{p}</p>" for p in cjk_text(rng, rng.randint(300, 800)))
            if spec.kind == "rss":
                entries.append(
                    f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
                    f"<pubDate>{format_datetime(day)}</pubDate><description>{escape(text)}</description></item>"
                )
            else:
                entries.append(
                    f"<entry><title>{escape(title)}</title><link href=\"{link}\"/><id>tag:{spec.host},2024:{spec.column}/{n}</id>"
                    f"<published>{day.isoformat()}</published><updated>{day.isoformat()}</updated>"
                    f'<content type="html">{escape(text)}</content></entry>'
                )
        if spec.kind == "rss":
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>生态环境新闻 {spec.column}</title><link>http://{spec.host}/</link>"
                f"<description>news</description>{''.join(entries)}</channel></rss>"
            )
            content_type = "application/rss+xml; charset=UTF-8"
        else:
            newest = self._item_date(spec, self._item_ids(spec)[0]).isoformat()
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>生态环境新闻 {spec.column}</title><id>tag:{spec.host},2024:{spec.column}</id>"
                f"<updated>{newest}</updated>{''.join(entries)}</feed>"
            )
            content_type = "application/atom+xml; charset=UTF-8"
        body = xml.encode("utf-8")
        etag, modified = self._validators(spec, body)
        return Page(body, content_type, etag, modified)

    def page(self, host: str, path: str) -> Page | None:
        """The page at host+path now, or None (404)."""
        spec = self._by_path.get((host, path))
        if spec is not None:
            key = (host, path, self.generation)
            if key not in self._cache:
                self._cache[key] = self._feed(spec) if spec.is_feed else self._list_page(spec)
            return self._cache[key]
        found = self._articles.get((host, path))
        if found is not None:
            key = (host, path, -1)
            if key not in self._cache:
                self._cache[key] = self._article_page(*found)
            return self._cache[key]
        if path == "/robots.txt" and sum(map(ord, host)) % 2:
            return Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain")
        return None

    def warm(self) -> None:
        """Render every page of the current generation (lists first, so articles are known)."""
        for spec in self.sources:
            self.page(spec.host, spec.path)
        for host, path in list(self._articles):
            self.page(host, path)

    def hosts(self) -> list[str]:
        return sorted({s.host for s in self.sources})


# -- the server -------------------------------------------------------------------------------

_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 400: "Bad Request"}


class _Server:
    def __init__(self, sites: SiteSet, port: int) -> None:
        self.sites, self.port = sites, port
        self.requests = 0
        self.bytes_out = 0
        self.log: list[str] = []
        self._gzip: dict[int, bytes] = {}

    def gz(self, page: Page) -> bytes:
        key = id(page.body)
        data = self._gzip.get(key)
        if data is None:
            data = self._gzip[key] = gzip.compress(page.body, 6)
        return data

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        host = headers.get("host", "127.0.0.1").rsplit(":", 1)[0]
        path = urlsplit(target).path if target.startswith("http") else target.split("#")[0]
        if path.startswith(CONTROL):
            return self.control(method, path)
        self.requests += 1
        self.log.append(f"http://{host}:{self.port}{path}")
        page = self.sites.page(host, path.split("?")[0])
        if page is None:
            return self._raw(404, b"not found", "text/plain", {})
        extra: dict[str, str] = {}
        if page.etag:
            extra["ETag"] = page.etag
        if page.last_modified:
            extra["Last-Modified"] = page.last_modified
        if (page.etag and headers.get("if-none-match") == page.etag) or (
            page.last_modified and headers.get("if-modified-since") == page.last_modified
        ):
            return self._raw(304, b"", None, extra)
        payload = page.body
        if "gzip" in headers.get("accept-encoding", "") and len(payload) > 1024:
            payload = self.gz(page)
            extra["Content-Encoding"] = "gzip"
        return self._raw(200, b"" if method == "HEAD" else payload, page.content_type, extra)

    def control(self, method: str, path: str) -> bytes:
        if path == "/__stats":
            data = {"requests": self.requests, "bytes": self.bytes_out, "generation": self.sites.generation}
        elif path == "/__log":
            data = self.log
        elif path == "/__reset":
            self.requests, self.bytes_out, self.log = 0, 0, []
            data = {"ok": True}
        elif path == "/__advance":
            self.sites.advance()
            self.sites.warm()
            _prepare_gzip(self)
            data = {"generation": self.sites.generation}
        else:
            return self._raw(404, b"no such control", "text/plain", {})
        return self._raw(200, json.dumps(data).encode(), "application/json", {})

    def _raw(self, status: int, payload: bytes, content_type: str | None, extra: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", "Server: bench", "Connection: keep-alive"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        if status != 304:
            lines.append(f"Content-Length: {len(payload)}")
        lines += [f"{k}: {v}" for k, v in extra.items()]
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        self.bytes_out += len(out)
        return out


class _Protocol(asyncio.Protocol):
    def __init__(self, server: _Server) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            try:
                method, target, _version = head[0].split(" ", 2)
            except ValueError:
                assert self.transport is not None
                self.transport.write(self.server._raw(400, b"bad request", "text/plain", {}))
                self.transport.close()
                return
            assert self.transport is not None
            self.transport.write(self.server.respond(method, target, headers, body))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _serve(sites: SiteSet, port: int) -> None:
    server = _Server(sites, port)
    _prepare_gzip(server)
    loop = asyncio.get_running_loop()
    hosts = ["127.0.0.1", *sites.hosts()]
    listener = await loop.create_server(lambda: _Protocol(server), host=hosts, port=port, backlog=1024, reuse_address=True)
    print(f"READY {port} {len(hosts)}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with listener:
        await stop.wait()


def serve_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.sites serve")
    parser.add_argument("--html", type=int, default=800)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--per-host", type=int, default=5)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sites = SiteSet(html_sources=args.html, feed_sources=args.feeds, per_host=args.per_host, seed=args.seed)
    sites.warm()
    asyncio.run(_serve(sites, args.port or free_port()))


def _prepare_gzip(server: _Server) -> None:
    # Compress everything up front so the timed runs only measure serving.
    for page in server.sites._cache.values():
        if len(page.body) > 1024:
            server.gz(page)


# -- helpers for the bench scripts --------------------------------------------------------------


class RunningServer:
    """The site server in a child process; `with RunningServer(...) as server:`."""

    def __init__(self, *, html: int = 800, feeds: int = 200, per_host: int = 5, seed: int = 1) -> None:
        self.args = ["--html", str(html), "--feeds", str(feeds), "--per-host", str(per_host), "--seed", str(seed)]
        self.sites = SiteSet(html_sources=html, feed_sources=feeds, per_host=per_host, seed=seed)  # for URLs only
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def command(self, port: int) -> list[str]:
        """The child's command line; it prints READY once it listens on `port`."""
        return [sys.executable, "-m", "bench.sites", "serve", "--port", str(port), *self.args]

    def __enter__(self) -> RunningServer:
        root = Path(__file__).resolve().parents[1]
        for _attempt in range(5):
            port = free_port()
            self.proc = subprocess.Popen(
                self.command(port),
                cwd=root,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if line.startswith("READY"):
                self.port = port
                return self
            self.proc.wait()  # the port was taken on one of the addresses; try another
        raise RuntimeError("bench server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def control(self, name: str) -> object:
        import httpx

        response = httpx.post(f"http://127.0.0.1:{self.port}/__{name}", timeout=120)
        response.raise_for_status()
        return response.json()

    def urls(self) -> list[str]:
        return [spec.url(self.port) for spec in self.sites.sources]

    def config_toml(self, directory: Path, *, concurrency: int = 16, extra_settings: str = "") -> Path:
        """A config with one source per synthetic source; store and feeds in `directory`."""
        categories = ["enforcement", "air", "water", "soil", "waste", "climate", "permits", "eia", "monitoring", "nature"]
        parts = [
            "[settings]",
            'store = "store.json"',
            'output_dir = "feeds"',
            "host_delay = 0  # politeness spacing would only measure sleep()",
            f"concurrency = {concurrency}",
            "timeout = 30",
            'default_interval = "30m"',
            extra_settings,
            "[serve]",
            "enabled = false",
        ]
        for slug in categories:
            parts += [f"[categories.{slug}]", f'title = "{slug}"']
        for index, spec in enumerate(self.sites.sources):
            parts += [
                "[[sources]]",
                f'name = "{spec.name}"',
                f'url = "{spec.url(self.port)}"',
                f'kind = "{"feed" if spec.is_feed else "html"}"',
                f'categories = ["{categories[index % len(categories)]}", "{categories[(index * 7 + 3) % len(categories)]}"]',
            ]
        path = directory / "config.toml"
        path.write_text("\n".join(parts) + "\n", encoding="utf-8")
        return path


def machine_info() -> str:
    import platform

    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        memory = ""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.platform()}; {cpu}; {os.cpu_count()} CPUs{memory}; "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve_main(sys.argv[2:])
    else:
        print(__doc__)
        start = time.perf_counter()
        demo = SiteSet()
        demo.warm()
        sizes = [len(p.body) for p in demo._cache.values()]
        print(f"{len(demo.sources)} sources on {len(demo.hosts())} hosts, {len(sizes)} pages, "
              f"{sum(sizes) / 2**20:.0f} MiB, rendered in {time.perf_counter() - start:.1f}s")


@contextlib.contextmanager
def checkouts(against: str | None) -> Iterator[dict[str, Path]]:
    """This checkout, and `against` in a temporary git worktree (removed after): benchmarks run
    the code before a change beside it (`--against REF`)."""
    root = Path(__file__).resolve().parents[1]
    if against is None:
        yield {"this checkout": root}
        return
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), against], cwd=root, check=True)
        try:
            yield {against: tree, "this checkout": root}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=root, check=False)
