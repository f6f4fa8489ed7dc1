"""Documents linked from list rows and article pages: enclosures, and their text (PDF, DOCX)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import feedparser
import pytest

from aggregator.cli import main

from .conftest import Response, Site, write_config
from .documents import make_docx, make_pdf

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_12 = make_pdf(["广东省生态环境厅行政处罚决定书", "粤环罚〔2024〕12号", "当事人：某某电镀有限公司", "决定罚款人民币十二万元。"])
DOCX_13 = make_docx(["行政处罚决定书", "粤环罚〔2024〕13号", "对某某纸业有限公司罚款八万元。"], [["当事人", "某某纸业有限公司"], ["罚款", "8万元"]])
PDF_7 = make_pdf(["关于某某化工厂环境违法问题的处罚公告", "责令停产整治，并处罚款三十万元。"])

CATEGORIES = """
[categories.enforcement]
title = "执法"
rules = { include = ["罚款"] }
"""


def list_page(rows: list[tuple[str, str, str]]) -> str:
    items = "".join(f'<li><a href="{href}">{title}</a><span>{date}</span></li>' for href, title, date in rows)
    nav = "".join(f'<a href="/col/{n}/">栏目{n}</a>' for n in range(6))
    return f'<html><body><div class="nav">{nav}</div><ul class="list">{items}</ul></body></html>'


def config_for(tmp_path: Path, site: Site, extra: str = "", settings: str = "", workers: int = 0) -> Path:
    path = write_config(
        tmp_path,
        CATEGORIES
        + f"""
[[sources]]
name = "bureau"
url = "{site.url('/list/')}"
kind = "html"
{extra}
[sources.list]
item = "ul.list li"
date = "span"
""",
        workers=workers,
    )
    if settings:
        path.write_text(path.read_text(encoding="utf-8").replace("[settings]\n", f"[settings]\n{settings}\n"), encoding="utf-8")
    return path


def feed(tmp_path: Path, name: str = "all") -> dict[str, feedparser.FeedParserDict]:
    parsed = feedparser.parse((tmp_path / "feeds" / f"{name}.atom").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return {entry.title: entry for entry in parsed.entries}


def enclosures(entry: feedparser.FeedParserDict) -> list[tuple[str, str, str | None]]:
    return [(link.href, link.type, link.get("length")) for link in entry.links if link.rel == "enclosure"]


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "worker-process"])
def test_rows_linking_a_pdf_and_a_docx_become_entries_with_enclosures_and_text(tmp_path: Path, site: Site, workers: int) -> None:
    site.add("/list/", list_page([
        ("/files/xzcf-12.pdf", "粤环罚〔2024〕12号", "2024-05-12"),
        ("/files/xzcf-13.docx", "粤环罚〔2024〕13号", "2024-05-13"),
        ("/download.jsp?id=7", "关于某某化工厂的处罚公告", "2024-05-07"),
    ]))
    site.add("/files/xzcf-12.pdf", Response(PDF_12, content_type="application/pdf"))
    site.add("/files/xzcf-13.docx", Response(DOCX_13, content_type="application/octet-stream"))  # known by its extension
    site.add("/download.jsp", Response(PDF_7, content_type="application/pdf"))  # known by its Content-Type
    config = config_for(tmp_path, site, workers=workers)
    assert main(["poll", "--once", str(config)]) == 0

    entries = feed(tmp_path, "enforcement")  # the titles say nothing of 罚款: the documents' text does
    # The PDF is a decision naming its party: the bare 文号 becomes who was fined what (issue 19).
    assert set(entries) == {"某某电镀有限公司 罚款12万元（粤环罚〔2024〕12号）", "粤环罚〔2024〕13号", "关于某某化工厂的处罚公告"}
    pdf = entries["某某电镀有限公司 罚款12万元（粤环罚〔2024〕12号）"]
    assert enclosures(pdf) == [(site.url("/files/xzcf-12.pdf"), "application/pdf", str(len(PDF_12)))]
    assert pdf.link == site.url("/files/xzcf-12.pdf")
    assert "决定罚款人民币十二万元。" in pdf.content[0].value and "当事人：某某电镀有限公司" in pdf.content[0].value
    assert pdf.published.startswith("2024-05-1")  # the list's date
    docx = entries["粤环罚〔2024〕13号"]
    assert enclosures(docx) == [(site.url("/files/xzcf-13.docx"), DOCX_TYPE, str(len(DOCX_13)))]
    assert "对某某纸业有限公司罚款八万元。" in docx.content[0].value and "罚款 8万元" in docx.content[0].value
    jsp = entries["关于某某化工厂的处罚公告"]
    assert enclosures(jsp) == [(site.url("/download.jsp?id=7"), "application/pdf", str(len(PDF_7)))]

    # Regenerated with no new data, the feeds are byte-identical.
    before = {p.name: p.read_bytes() for p in (tmp_path / "feeds").glob("[!.]*")}
    assert main(["build", str(config)]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "feeds").glob("[!.]*")} == before


ONLY_ATTACHMENT = """<html><head><meta name="ArticleTitle" content="关于某某化工厂环境违法问题的处罚决定">
<meta name="PubDate" content="2024-05-20 16:00"></head><body>{nav}<div id="zoom">
<p>附件：<a href="/files/decision-20.pdf">关于某某化工厂环境违法问题的处罚决定.pdf</a></p></div></body></html>"""

WITH_BODY = """<html><head><meta name="ArticleTitle" content="2024年5月全省环境执法工作情况通报">
<meta name="PubDate" content="2024-05-21 10:00"></head><body>{nav}<div id="zoom">
<p>5月，全省各级生态环境部门持续开展执法检查，共检查企业1200余家，发现问题已督促整改，现将有关情况通报如下。</p>
<p>附件：<a href="/files/cases.xls">典型案例清单.xls</a> <a href="/files/note.doc">说明.doc</a> <a href="/files/detail.docx">处理情况.docx</a></p>
</div></body></html>"""


def _article_site(site: Site) -> None:
    nav = "".join(f'<a href="/col/{n}/">栏目{n}</a>' for n in range(6))
    site.add("/list/", list_page([("/art/20.html", "关于某某化工厂的处罚决定", "2024-05-20"),
                                  ("/art/21.html", "2024年5月全省环境执法工作情况通报", "2024-05-21")]))
    site.add("/art/20.html", ONLY_ATTACHMENT.format(nav=nav))
    site.add("/art/21.html", WITH_BODY.format(nav=nav))
    site.add("/files/decision-20.pdf", Response(PDF_7, content_type="application/pdf"))
    site.add("/files/detail.docx", Response(make_docx(["对3家企业共罚款45万元。"]), content_type=DOCX_TYPE))


def test_an_article_page_that_is_only_an_attachment_link_gets_the_documents_text(tmp_path: Path, site: Site) -> None:
    _article_site(site)
    config = config_for(tmp_path, site)
    assert main(["poll", "--once", str(config)]) == 0
    entries = feed(tmp_path)
    only = entries["关于某某化工厂环境违法问题的处罚决定"]
    assert only.link == site.url("/art/20.html")
    assert enclosures(only) == [(site.url("/files/decision-20.pdf"), "application/pdf", str(len(PDF_7)))]
    assert "责令停产整治，并处罚款三十万元。" in only.content[0].value
    assert "处罚决定" in feed(tmp_path, "enforcement")["关于某某化工厂环境违法问题的处罚决定"].title

    # A page with a body keeps it; its documents are enclosures (not downloaded: no length).
    body = entries["2024年5月全省环境执法工作情况通报"]
    assert "共检查企业1200余家" in body.content[0].value
    assert enclosures(body) == [
        (site.url("/files/cases.xls"), "application/vnd.ms-excel", None),
        (site.url("/files/note.doc"), "application/msword", None),
        (site.url("/files/detail.docx"), DOCX_TYPE, None),
    ]
    assert not site.hits("/files/detail.docx")
    assert "2024年5月全省环境执法工作情况通报" not in feed(tmp_path, "enforcement")


def test_read_attachments_classifies_a_page_by_its_documents_too(tmp_path: Path, site: Site) -> None:
    _article_site(site)
    config = config_for(tmp_path, site, "read_attachments = true")
    assert main(["poll", "--once", str(config)]) == 0
    entry = feed(tmp_path, "enforcement")["2024年5月全省环境执法工作情况通报"]  # 罚款 is only in detail.docx
    assert "共检查企业1200余家" in entry.content[0].value and "45万元" not in entry.content[0].value
    docx = [e for e in enclosures(entry) if e[1] == DOCX_TYPE]
    assert docx and docx[0][2] is not None  # downloaded now: its length is known
    assert len(site.hits("/files/detail.docx")) == 1 and not site.hits("/files/cases.xls")


@pytest.mark.parametrize(
    ("body", "settings", "reason"),
    [
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R", "", "unreadable: "),
        (PDF_12, "attachment_max_bytes = 1024", "is over the 1,024-byte limit for reading documents"),
        (PDF_12, "attachment_timeout = 0.000001", "reading took longer than 1e-06s"),
    ],
    ids=["broken", "too-big", "too-slow"],
)
def test_a_document_that_cannot_be_read_is_kept_as_a_link_with_the_reason_logged(
    tmp_path: Path, site: Site, caplog: pytest.LogCaptureFixture, body: bytes, settings: str, reason: str
) -> None:
    site.add("/list/", list_page([("/files/xzcf-12.pdf", "粤环罚〔2024〕12号", "2024-05-12"),
                                  ("/files/ok.docx", "粤环罚〔2024〕13号", "2024-05-13")]))
    site.add("/files/xzcf-12.pdf", Response(body, content_type="application/pdf"))
    site.add("/files/ok.docx", Response(DOCX_13, content_type=DOCX_TYPE))
    config = config_for(tmp_path, site, settings=settings)
    with caplog.at_level(logging.INFO):
        assert main(["poll", "--once", str(config)]) == 0
    entries = feed(tmp_path)
    kept = entries["粤环罚〔2024〕12号"]
    assert enclosures(kept) == [(site.url("/files/xzcf-12.pdf"), "application/pdf", str(len(body)))]
    assert "content" not in kept or "十二万元" not in kept.content[0].value
    assert f"{site.url('/files/xzcf-12.pdf')} kept as a link: " in caplog.text and reason in caplog.text
    if not settings:  # the limits apply to every document; a broken one only to itself
        assert "八万元" in entries["粤环罚〔2024〕13号"].content[0].value


def test_try_shows_an_articles_attachments_and_their_text(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    _article_site(site)
    assert main(["try", site.url("/art/20.html"), "--article", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["attachments"] == f"{site.url('/files/decision-20.pdf')} (application/pdf, {len(PDF_7):,} bytes)"
    assert shown["content_from"] == "attachment"
    assert "责令停产整治，并处罚款三十万元。" in shown["content_text"]
    site.add("/files/xzcf-12.pdf", Response(PDF_12, content_type="application/pdf"))
    assert main(["try", site.url("/files/xzcf-12.pdf"), "--article"]) == 0
    out = capsys.readouterr().out
    assert "attachments: " in out and "决定罚款人民币十二万元。" in out


def test_a_document_row_is_an_enclosure_also_without_article_fetches_and_try_shows_it(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.add("/list/", list_page([("/files/xzcf-12.pdf", "粤环罚〔2024〕12号", "2024-05-12"),
                                  ("/files/sheet.xlsx", "2024年行政处罚汇总表", "2024-05-11"),
                                  ("/art/1.html", "一条普通的执法新闻标题", "2024-05-10")]))
    config = config_for(tmp_path, site, "fetch_articles = false")
    assert main(["poll", "--once", str(config)]) == 0
    entries = feed(tmp_path)
    assert enclosures(entries["粤环罚〔2024〕12号"]) == [(site.url("/files/xzcf-12.pdf"), "application/pdf", None)]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert enclosures(entries["2024年行政处罚汇总表"]) == [(site.url("/files/sheet.xlsx"), xlsx, None)]
    assert enclosures(entries["一条普通的执法新闻标题"]) == []
    assert not site.hits("/files/xzcf-12.pdf")
    capsys.readouterr()
    assert main(["try", "--config", str(config), "--source", "bureau"]) == 0
    out = capsys.readouterr().out
    assert f"    enclosure: {site.url('/files/xzcf-12.pdf')} (application/pdf; a poll reads PDF/DOCX text)" in out
