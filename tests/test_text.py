"""xml_safe, sanitize_html and html_to_text."""

from __future__ import annotations

from lxml import etree

from aggregator.normalise.text import html_to_text, sanitize_html, xml_safe

PAGE = "http://www.mee.gov.cn/ywdt/hjywnews/202403/t20240301_1.shtml"


def test_xml_safe_removes_only_forbidden_characters() -> None:
    assert xml_safe("a\x00b\x08c\x0bd\x0ce\x1ff\ufffeg\uffffh\ud800i\udfffj") == "abcdefghij"
    kept = "tab\tnl\nr\r 中文 ＆ emoji 🌿 \x7f \u3000"
    assert xml_safe(kept) == kept
    # Whatever is left, lxml accepts.
    element = etree.Element("t")
    element.text = xml_safe("".join(chr(c) for c in range(0x20)) + "\ud83c\ufffe环境")
    assert etree.tostring(element, encoding="unicode").startswith("<t>\t\n")


def test_sanitize_removes_scripts_and_handlers() -> None:
    out = sanitize_html(
        '<p onclick="x()" style="color:red" class="c">文<script>alert(1)</script>'
        '<style>p{}</style><iframe src="https://evil.example/"></iframe>'
        '<a href="javascript:alert(1)">js</a></p>',
        PAGE,
    )
    assert "script" not in out and "alert" not in out
    assert "onclick" not in out and "style" not in out and "class" not in out
    assert "iframe" not in out and "evil" not in out
    assert "javascript" not in out
    assert out.startswith("<p>文")


def test_sanitize_makes_links_and_images_absolute() -> None:
    out = sanitize_html(
        '<p><img src="../../images/a.jpg" alt="现场" onerror="x()">'
        '<a href="/xxgk/b.html">公告</a><a href="//cdn.mee.gov.cn/c.pdf">附件</a></p>',
        PAGE,
    )
    assert '<img src="http://www.mee.gov.cn/ywdt/images/a.jpg" alt="现场">' in out
    assert 'href="http://www.mee.gov.cn/xxgk/b.html"' in out
    assert 'href="http://cdn.mee.gov.cn/c.pdf"' in out
    assert 'rel="noopener noreferrer"' in out
    assert "onerror" not in out


def test_sanitize_keeps_tables_and_formatting() -> None:
    html = '<table><tr><td colspan="2"><strong>处罚</strong></td></tr></table><ul><li><em>a</em></li></ul>'
    out = sanitize_html(html, PAGE)
    assert '<td colspan="2"><strong>处罚</strong></td>' in out
    assert "<ul><li><em>a</em></li></ul>" in out


def test_sanitize_without_base_drops_relative_urls() -> None:
    out = sanitize_html('<a href="b.html">x</a><img src="a.png"><a href="https://a.example/">ok</a>')
    assert "b.html" not in out and "a.png" not in out
    assert 'href="https://a.example/"' in out
    # An unusable base is treated like no base rather than raising.
    assert "b.html" not in sanitize_html('<a href="b.html">x</a>', "http://bad host/")


def test_sanitize_strips_forbidden_characters() -> None:
    assert sanitize_html("<p>a\x00b\x0bc\ud800d</p>", PAGE) == "<p>abcd</p>"
    assert sanitize_html("", PAGE) == ""


def test_html_to_text() -> None:
    html = "<p>环境&amp;执法</p><p>第二段&nbsp;x\u3000y</p><script>var a = 1;</script>a&lt;b<br>c\x0b"
    assert html_to_text(html) == "环境&执法 第二段 x y a<b c"
    assert html_to_text("plain  text") == "plain text"
