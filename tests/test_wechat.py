"""Lists that link WeChat official-account articles (典型案例 reposted on mp.weixin.qq.com)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest

from aggregator.cli import main
from aggregator.extract.wechat import extract_wechat, is_wechat
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config

CT = 1714537800  # 2024-05-01 12:30 +08:00

WECHAT = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta property="og:title" content="{title}">
<meta property="og:url" content="http://mp.weixin.qq.com/s?__biz=MzA5&amp;mid=2650&amp;idx=1">
<meta name="author" content="{author}">
<title>{title}</title>
<script>var first_sceen__time = (+new Date());</script></head>
<body id="activity-detail" class="zh_CN">
<div class="rich_media_wrp"><div class="rich_media_area_primary">
<h1 class="rich_media_title" id="activity-name">
  {title}
</h1>
<div id="meta_content" class="rich_media_meta_list">
  <span class="rich_media_meta rich_media_meta_text">{author}</span>
  <span class="rich_media_meta rich_media_meta_nickname" id="profileBt"><a href="javascript:void(0);" id="js_name">
   四川生态环境 </a></span>
  <em id="publish_time" class="rich_media_meta rich_media_meta_text"></em>
</div>
<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden;">
<section><p style="text-align:justify;"><span>2024年3月，某市生态环境局在执法检查中发现，某公司通过暗管偷排未经处理的废水。</span></p>
<p><img class="rich_pages wxw-img" data-src="https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg" data-type="jpeg" src="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="></p>
<p><span>生态环境部门依法对该公司罚款50万元，并将案件移送公安机关。</span></p></section>
<script>var inner = 1;</script>
</div>
<div class="rich_media_tool">阅读 1.2万 在看 30</div>
</div></div>
<script type="text/javascript">
var nickname = htmlDecode("四川生态环境");
var round_head_img = "http://wx.qlogo.cn/mmhead/x/0";
var ct = "{ct}";
var publish_time = "2024-05-01" || "";
var create_time = "{ct}" * 1;
</script></body></html>"""


def wechat_article(request: Request) -> Response:
    n = request.path.rsplit("/", 1)[-1]
    return Response(WECHAT.format(title=f"典型案例｜暗管偷排废水案（第{n}期）", author="执法局宣传科", ct=CT - int(n) * 86400).encode())


def test_the_list_links_wechat_articles_and_they_are_read_as_such(tmp_path: Path, site: Site) -> None:
    # The articles live on another host (WeChat); here "localhost" against the list's 127.0.0.1.
    wechat = site.url("/s/").replace("127.0.0.1", "localhost")
    rows = "".join(f'<li><a href="{wechat}{n}">典型案例｜暗管偷排废水案（第{n}期）</a><span>2024-04-2{n}</span></li>' for n in (1, 2, 3))
    nav = "".join(f'<a href="/col/{n}/">栏目{n}</a>' for n in range(6))
    site.add("/dxal/", f'<html><body><div class="nav">{nav}</div><ul class="list">{rows}</ul></body></html>')
    site.add("/s/1", wechat_article)
    site.add("/s/2", wechat_article)
    site.add("/s/3", wechat_article)
    config = write_config(
        tmp_path,
        f"""
[categories.enforcement]
title = "执法"
rules = {{ include = ["罚款"] }}

[[sources]]
name = "sc-dxal"
url = "{site.url('/dxal/')}"
kind = "html"
fetch_articles = true
[sources.list]
item = "ul.list li"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    parsed = feedparser.parse((tmp_path / "feeds" / "enforcement.atom").read_bytes())
    assert not parsed.bozo
    entries = {e.title: e for e in parsed.entries}
    first = entries["典型案例｜暗管偷排废水案（第1期）"]
    assert first.link == f"{wechat}1"
    # The date is the page's publish timestamp, not the list's 2024-04-21.
    assert datetime.fromisoformat(first.published) == datetime.fromtimestamp(CT - 86400, timezone.utc)
    body = first.content[0].value
    assert "某公司通过暗管偷排未经处理的废水" in body and "罚款50万元" in body
    assert 'src="https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg"' in body  # the real image, not the placeholder
    assert "data:image" not in body and "阅读 1.2万" not in body and "var inner" not in body
    assert [c.name for c in first.contributors] == ["执法局宣传科"]  # the article's 作者
    assert first.author == "sc-dxal"  # the source (no `authority` key: its name)
    with open_store(tmp_path / "store.json") as store:
        origins = {item.origin for item in store.items()}
    assert origins == {"四川生态环境"}  # the account is the 来源


def test_try_article_on_a_wechat_page(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/s/4", wechat_article)
    assert main(["try", site.url("/s/4"), "--article", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["title"] == "典型案例｜暗管偷排废水案（第4期）"
    assert shown["source"] == "四川生态环境"
    assert datetime.fromisoformat(shown["published"]) == datetime.fromtimestamp(CT - 4 * 86400, timezone.utc)
    assert "暗管偷排" in shown["content_text"]


def test_wechat_pages_are_known_by_host_or_markup_and_a_deleted_one_has_no_body() -> None:
    assert is_wechat("https://mp.weixin.qq.com/s/AbCdEf")
    assert not is_wechat("https://sthjt.sc.gov.cn/a.shtml", "<html><body><div id='content'></div></body></html>")
    now = datetime(2024, 6, 1, tzinfo=timezone.utc)
    from zoneinfo import ZoneInfo

    deleted = '<html><body><div class="weui-msg"><p class="weui-msg__title">该内容已被发布者删除</p></div></body></html>'
    page = extract_wechat(deleted, "https://mp.weixin.qq.com/s/gone", tz=ZoneInfo("Asia/Shanghai"), now=now)
    assert page.content_html is None and any("js_content" in w for w in page.warnings)
    # No timestamp in the scripts: the printed publish_time, in China time.
    text_only = WECHAT.format(title="t", author="a", ct="x").replace('var ct = "x";', "").replace('var create_time = "x" * 1;', "")
    page = extract_wechat(text_only, "https://mp.weixin.qq.com/s/x", tz=ZoneInfo("Asia/Shanghai"), now=now)
    assert page.published == datetime(2024, 5, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
