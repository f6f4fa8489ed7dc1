"""Bytes to text: BOM, HTTP charset, UTF-8, GB18030, then <meta>."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.extract.decode import decode_html
from aggregator.models import ErrorKind, SourceError

from .conftest import Site

REAL = Path(__file__).parent / "fixtures" / "real"
SITES = Path(__file__).parent / "fixtures" / "sites"


def test_utf8_bytes_declaring_gb2312_are_read_as_utf8() -> None:
    page = decode_html((REAL / "youth-cn-article-utf8-declares-gb2312.html").read_bytes())
    assert page.encoding == "utf-8"
    assert page.bad_chars == 0
    assert "我国首届养老专业本科生迎来毕业季" in page.text


def test_gbk_bytes_are_read_as_gb18030() -> None:
    page = decode_html((REAL / "sina-article-gbk.html").read_bytes())
    assert page.encoding == "gb18030"
    assert page.bad_chars == 0
    assert "爱戴掀起红盖头 庆东南劲爆音乐颁奖七周年(图)" in page.text


def test_wrong_http_charset_does_not_win_over_the_bytes() -> None:
    body = (REAL / "sina-article-gbk.html").read_bytes()
    assert decode_html(body, "utf-8").encoding == "gb18030"
    assert decode_html(body, "ISO-8859-1").encoding == "gb18030"  # a server default, not a statement


def test_http_charset_used_when_it_fits() -> None:
    body = "环境执法".encode("gbk")
    assert decode_html(body, "GBK") .text == "环境执法"


def test_bom_wins() -> None:
    page = decode_html(b"\xef\xbb\xbf<p>\xe6\x89\xa7\xe6\xb3\x95</p>", "gbk")
    assert page.text == "<p>执法</p>" and page.encoding == "utf-8"


def test_hanweb_fixture_is_gbk_with_gb2312_meta() -> None:
    page = decode_html((SITES / "sthjt" / "col1229116-index.html").read_bytes())
    assert page.encoding == "gb18030" and page.bad_chars == 0
    assert "浙江省生态环境厅" in page.text


def test_override_is_obeyed_and_mojibake_is_counted() -> None:
    body = "生态环境".encode("utf-8")
    page = decode_html(body, override="gbk")
    assert page.encoding == "gb18030"
    assert page.text != "生态环境"


def test_truncated_utf8_keeps_utf8_and_reports_the_broken_character() -> None:
    body = "生态环境部要闻".encode("utf-8") * 50
    page = decode_html(body[:-1])
    assert page.encoding == "utf-8"
    assert page.bad_chars == 1


def test_undecodable_bytes_are_counted_not_hidden() -> None:
    page = decode_html(bytes(range(0x80, 0x100)) * 4)
    assert page.bad_chars > 0 or page.encoding in ("cp1252", "gb18030")


def test_unknown_override_is_a_decode_error() -> None:
    with pytest.raises(SourceError) as err:
        decode_html(b"<p>x</p>", override="no-such-codec")
    assert err.value.kind is ErrorKind.DECODE


def test_big5_page_is_not_read_as_gb18030() -> None:
    body = '<meta charset="big5"><p>環境保護署新聞</p>'.encode("big5")
    page = decode_html(body)
    assert "環境保護署新聞" in page.text


def test_a_utf8_template_with_gbk_fragments_reads_right() -> None:
    # Server-side includes in GBK spliced into a UTF-8 page; 态 (CC AC in GBK) is also valid UTF-8.
    body = (
        "<html><head><meta charset='utf-8'></head><body><h1>生态环境部</h1>".encode("utf-8")
        + "<ul><li>生态环境执法检查通报</li><li>态势分析</li></ul>".encode("gbk")
        + "<p>页脚</p></body></html>".encode("utf-8")
    )
    page = decode_html(body)
    assert page.bad_chars == 0
    assert "生态环境部" in page.text and "生态环境执法检查通报" in page.text and "态势分析" in page.text


def test_absurdly_deep_pages_are_refused_before_parsing_and_wide_ones_are_not() -> None:
    from aggregator.extract.decode import check_nesting
    from aggregator.models import SourceError

    check_nesting("<ul>" + "<li><a href='/x'>新闻</a><br></li>" * 30000 + "</ul>")  # wide: fine
    with pytest.raises(SourceError, match="levels deep"):
        check_nesting("<div>" * 100000 + "</div>" * 100000)
    # Rows whose end tags HTML lets a page leave out are siblings, not 30,000 levels.
    check_nesting("<ul>" + "<li><a href='/x'>新闻</a><span>2024-01-02</span>" * 30000 + "</ul>")
    check_nesting("<ul>" + "<li><font color=red><a href='/x'>新闻</a>" * 30000 + "</ul>")  # and what is open inside them
    check_nesting("<table>" + "<tr><td><a href='/x'>新闻</a><td>2024-01-02" * 30000 + "</table>")
    check_nesting("<dl>" + "<dt><a href='/x'>新闻</a><dd>2024-01-02" * 30000 + "</dl>")
    check_nesting("<div>" + "<p>新闻<b>要闻</b><div>2024-01-02</div>" * 30000 + "</div>")
    with pytest.raises(SourceError, match="levels deep"):  # unclosed <div>s do nest
        check_nesting("<div class=row><a href='/x'>新闻</a>" * 30000)


def test_a_list_of_rows_without_end_tags_is_read(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    # Old CMSs write <li> rows without </li>: valid HTML, and 8,000 of them were refused as nesting too deep.
    rows = "".join(f"<li><a href='/ywdt/t20240102_{i}.shtml'>生态环境部召开新闻发布会第{i}号</a><span>2024-01-02</span>\n" for i in range(8000))
    site.add("/list.html", f"<html><head><meta charset='utf-8'></head><body><ul>{rows}</ul></body></html>")
    assert main(["try", site.url("/list.html"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 8000


def test_a_clean_utf8_page_holding_replacement_characters_is_read(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    # The page's own text carries U+FFFD (mojibake copied in by its CMS, here 30 of them): the bytes
    # are valid UTF-8, so the page decoded cleanly and must be read, not refused as undecodable.
    garbled = "\ufffd" * 30
    html = (
        "<html><head><meta charset='utf-8'><title>某市召开安全生产工作会议</title></head><body>"
        "<h1>某市召开安全生产工作会议</h1><div class=info>2024-01-02 09:30 来源：某市应急管理局</div>"
        f"<div class=text><p>某市今天召开全市安全生产工作会议，总结去年工作，部署今年任务。附件名称显示为{garbled}。</p>"
        "<p>会议要求，要加强隐患排查治理，对发现的问题建立台账、限时整改，做到五落实。</p></div></body></html>"
    )
    page = decode_html(html.encode("utf-8"))
    assert page.encoding == "utf-8" and page.bad_chars == 0 and page.text == html
    site.add("/art.html", html.encode("utf-8"), headers={"Content-Type": "text/html; charset=utf-8"})
    assert main(["try", site.url("/art.html"), "--article", "--json"]) == 0
    out = capsys.readouterr().out
    assert "会议要求，要加强隐患排查治理" in out and garbled in json.loads(out)["content_text"]


def test_broken_bytes_are_still_counted_beside_the_page_s_own_replacement_characters() -> None:
    body = ("<p>生态环境部要闻\ufffd\ufffd</p>" * 20).encode("utf-8") + b"\xff\xfe\xff"
    page = decode_html(body)
    assert page.encoding == "utf-8"
    assert page.bad_chars == 3  # the three unreadable bytes; the 40 written U+FFFD are the page's
