"""Other extractors for bench_accuracy, side by side with ours (the `bench` extra installs them).

Each adapter gets the page as our decode_page decoded it (the same text for every extractor) and
its manifest URL (or the made-up fixture URL), and fills only the fields the library produces.
Nothing here may reach the network: image fetching is off, newspaper4k is handed the HTML, and
tldextract (pulled in by newspaper4k) is pinned to its bundled suffix list.
"""

from __future__ import annotations

import logging
import re
import warnings
from datetime import datetime

from bench.accuracy_scoring import ZONE, ArticleResult, ListEntry, ListResult, page_url

ARTICLE_BASE = frozenset({"title", "publish_day", "body_start", "body_end"})
TIME = frozenset({"publish_time"})
LIST_BASE = frozenset({"count", "first3_titles", "first3_links", "list_exact"})

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]*(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}))?)?")


_META_CHARSET = re.compile(r"(<meta\b[^>]*?charset\s*=\s*[\"']?)([\w.:-]+)", re.I)
_XML_ENCODING = re.compile(r"(<\?xml\b[^>]*?encoding\s*=\s*[\"'])([\w.:-]+)", re.I)


def declare_utf8(html: str) -> str:
    """The decoded page with its charset declarations saying utf-8: some libraries (goose3) encode
    the text they are given to UTF-8 bytes and let lxml decode those by the page's <meta charset>,
    which turns every GBK-declared page into mojibake. The text itself is unchanged."""
    return _XML_ENCODING.sub(r"\1utf-8", _META_CHARSET.sub(r"\1utf-8", html))


def parse_date(value: object) -> datetime | None:
    """A library's date (datetime, ISO string, or Chinese text) as a datetime; naive = Asia/Shanghai."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    if m := _DATE.search(text):
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=ZONE)
        except ValueError:
            return None
    return None


def _text_of(html_fragment: str | None) -> str | None:
    if not html_fragment:
        return None
    import lxml.html

    return lxml.html.fromstring(html_fragment).text_content()


def _first(value: object) -> str | None:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) if value else None
    return str(value) if value else None


def _no_network_tldextract() -> None:
    import tldextract
    import tldextract.tldextract as inner

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # type: ignore[assignment]
    inner.extract = offline  # type: ignore[assignment]
    inner.TLD_EXTRACTOR = offline


# ------------------------------------------------------------------ adapters


def _trafilatura(precision: bool):  # noqa: ANN202
    import trafilatura

    def run(page: dict, html: str, body: bytes) -> ArticleResult:
        doc = trafilatura.bare_extraction(html, url=page_url(page), with_metadata=True, favor_precision=precision,
                                          include_comments=False)
        if doc is None:
            return ArticleResult()
        get = (lambda k: doc.get(k)) if isinstance(doc, dict) else (lambda k: getattr(doc, k, None))
        return ArticleResult(title=get("title"), published=parse_date(get("date")), source=get("sitename"),
                             author=get("author"), body=get("text"))

    return run


def _gne():  # noqa: ANN202
    from gne import GeneralNewsExtractor

    extractor = GeneralNewsExtractor()

    def run(page: dict, html: str, body: bytes) -> ArticleResult:
        out = extractor.extract(html, host=page_url(page), noise_node_list=None)
        return ArticleResult(title=out.get("title"), published=parse_date(out.get("publish_time")),
                             author=out.get("author"), body=out.get("content"))

    return run


def _readability():  # noqa: ANN202
    from htmldate import find_date
    from readability import Document

    logging.getLogger("readability.readability").setLevel(logging.ERROR)

    def run(page: dict, html: str, body: bytes) -> ArticleResult:
        doc = Document(html, url=page_url(page))
        when = find_date(html, url=page_url(page), extensive_search=True, outputformat="%Y-%m-%d %H:%M:%S")
        return ArticleResult(title=doc.short_title(), published=parse_date(when), body=_text_of(doc.summary(html_partial=True)))

    return run


def _newspaper():  # noqa: ANN202
    _no_network_tldextract()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from newspaper import Article, Config

    def run(page: dict, html: str, body: bytes) -> ArticleResult:
        config = Config()
        config.fetch_images = False
        config.language = "zh"
        config.memorize_articles = False
        article = Article(page_url(page), config=config, language="zh", fetch_images=False)
        article.download(input_html=html)
        article.parse()
        return ArticleResult(title=article.title, published=parse_date(article.publish_date),
                             author=_first(article.authors), body=article.text)

    return run


def _goose():  # noqa: ANN202
    from goose3 import Goose
    from goose3.text import StopWordsChinese

    logging.getLogger("goose3").setLevel(logging.ERROR)
    goose = Goose({"stopwords_class": StopWordsChinese, "enable_image_fetching": False, "use_meta_language": False,
                   "target_language": "zh", "parser_class": "lxml"})

    def run(page: dict, html: str, body: bytes) -> ArticleResult:
        article = goose.extract(raw_html=html)
        return ArticleResult(title=article.title, published=parse_date(article.publish_date),
                             author=_first(article.authors), body=article.cleaned_text)

    return run


def _gerapy():  # noqa: ANN202
    from loguru import logger

    logger.remove()  # it logs every step at INFO
    from gerapy_auto_extractor import extract_detail, extract_list

    def run(page: dict, html: str, body: bytes) -> ArticleResult | ListResult:
        if page["kind"] == "list":
            rows = extract_list(html, base_url=page_url(page)) or []
            return ListResult([ListEntry(r.get("title"), r.get("url"), None) for r in rows])
        out = extract_detail(html)
        return ArticleResult(title=out.get("title"), published=parse_date(out.get("datetime")), body=out.get("content"))

    return run


SPECS = [
    # name, factory, kinds, fields, note
    ("trafilatura", lambda: _trafilatura(False), ("article",), ARTICLE_BASE | {"source", "author"},
     "bare_extraction(with_metadata); 来源 = its sitename; date only"),
    ("trafilatura-precision", lambda: _trafilatura(True), ("article",), ARTICLE_BASE | {"source", "author"},
     "the same with favor_precision=True"),
    ("gne", _gne, ("article",), ARTICLE_BASE | TIME | {"author"}, "GeneralNewsExtractor().extract(html, host=url)"),
    ("readability+htmldate", _readability, ("article",), ARTICLE_BASE | TIME,
     "readability-lxml Document.summary / short_title; htmldate.find_date(extensive_search) for the date"),
    ("newspaper4k", _newspaper, ("article",), ARTICLE_BASE | TIME | {"author"},
     "Article(language='zh').download(input_html=...).parse(); no nltk"),
    ("goose3", _goose, ("article",), ARTICLE_BASE | TIME | {"author"}, "Goose(StopWordsChinese, no image fetching)"),
    ("gerapy-auto-extractor", _gerapy, ("article", "list"), ARTICLE_BASE | TIME | LIST_BASE,
     "extract_detail / extract_list(base_url=url); lists give title and link only"),
]


def libraries(extractor: type, only: set[str] | None = None) -> list:
    """`extractor(...)` objects (bench_accuracy.Extractor) for the installed libraries, and
    (name, reason) for the others; `only` limits them to those names."""
    out: list = []
    for name, factory, kinds, fields, note in SPECS:
        if only is not None and name not in only:
            continue
        try:
            run = factory()
        except Exception as exc:  # noqa: BLE001 - not installed or does not start: say so in the table
            out.append((name, f"not available: {type(exc).__name__}: {exc}; install with pip install -e '.[bench]'"))
            continue
        out.append(extractor(name, kinds, frozenset(fields), run, note))
    return out
