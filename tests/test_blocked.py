"""Block pages (WAF text, challenge scripts, 412/521) are a source's error, never feed entries."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Response, Site, write_config

YUN = "<html><head><title>云防护</title></head><body><h1>您的访问已被云防护拦截</h1><p>请稍后再试</p></body></html>"
REFUSED = "<html><head><title>提示</title></head><body><p>您的请求已被拒绝执行，如有疑问请联系管理员。</p></body></html>"
INTERCEPTED = "<html><body><div>访问被拦截！</div><p>事件ID：8f0c</p></body></html>"
RUISHU = (
    "<html><head><meta id='9DhefwqGPrzG' content='x' r='m'><script>var $_ts=window['$_ts'];if(!$_ts)$_ts=window['$_ts']={};"
    "$_ts.nsd=84271;$_ts.cd='qrcCrrAlEq';</script><script src='/4QbVtADbnLVIc/c.FxJzG50F.js' r='m'></script></head><body></body></html>"
)
JSL = "<html><body><script>document.cookie=('_')+('_jsl_clearance')+('=1700000000.1|0|x');location.href=location.pathname</script></body></html>"

CASES = {
    "yun": (Response(YUN.encode()), "“云防护” (HTTP 200)"),
    "refused": (Response(REFUSED.encode("gbk"), content_type="text/html; charset=gbk"), "“拒绝执行” (HTTP 200)"),
    "intercepted": (Response(INTERCEPTED.encode()), "“访问被拦截” (HTTP 200)"),
    "ruishu": (Response(RUISHU.encode(), status=412), "HTTP 412 with a `$_ts` challenge script"),
    "jsl": (Response(JSL.encode(), status=521), "HTTP 521 with a `__jsl_clearance` cookie script"),
    "plain412": (Response(b"", status=412, content_type="text/plain"), "HTTP 412"),
}


def _config(tmp_path: Path, site: Site) -> Path:
    sources = "".join(
        f"""
[[sources]]
name = "{name}"
url = "{site.url('/' + name + '/')}"
kind = "html"
"""
        for name in CASES
    )
    path = write_config(tmp_path, sources)
    # stale_after = 0: a failing source is announced in the health feed at once.
    path.write_text(path.read_text(encoding="utf-8").replace("[settings]\n", "[settings]\nstale_after = 0\n"), encoding="utf-8")
    return path


def test_each_block_page_is_the_sources_error_in_status_and_health_feed(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (response, _seen) in CASES.items():
        site.add(f"/{name}/", response)
    config = _config(tmp_path, site)
    assert main(["poll", "--once", str(config)]) == 1
    out = capsys.readouterr().out
    with open_store(tmp_path / "store.json") as store:
        assert len(store) == 0  # no block page became an item
        states = {name: store.state(name) for name in CASES}
    for name, (_response, seen) in CASES.items():
        assert states[name].last_error_kind == "blocked"
        assert seen in (states[name].last_error or ""), states[name].last_error
        assert "`proxy`, `warmup` or `render`" in (states[name].last_error or "")
        assert f"{name}: FAILED blocked: " in out

    assert main(["status", str(config)]) == 1
    status = capsys.readouterr().out
    for name in CASES:
        line = next(line for line in status.splitlines() if line.startswith(name + " "))
        assert "stale" in line and "blocked: " in line, line  # stale: stale_after = 0

    health = feedparser.parse((tmp_path / "feeds" / "health.atom").read_bytes())
    assert not health.bozo
    bodies = {entry.title.split(":")[0]: entry.content[0].value for entry in health.entries}
    assert set(bodies) == set(CASES)
    assert "a block page saying “云防护” (HTTP 200)" in bodies["yun"]
    assert "HTTP 412 with a `$_ts` challenge script" in bodies["ruishu"]
    all_feed = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes())
    assert all_feed.entries == []


def test_a_blocked_article_page_never_becomes_an_entry_and_is_read_later(tmp_path: Path, site: Site) -> None:
    site.add("/list/", '<html><body><ul class="list"><li><a href="/art/1.html">关于某公司拒绝执行处罚决定的通报</a>'
             "<span>2024-05-02</span></li></ul></body></html>")
    site.add("/art/1.html", Response(YUN.encode()))
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "bureau"
url = "{site.url('/list/')}"
kind = "html"
fetch_articles = true
[sources.list]
item = "ul.list li"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    assert feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes()).entries == []
    # A real page that merely talks about 拒绝执行 is content.
    chrome = "".join(f"<a href='/col/{n}/'>{name}</a>" for n, name in enumerate(["首页", "机构概况", "政务公开", "政务服务", "互动交流"]))
    footer = "<div class='foot'>主办单位：某省生态环境厅　地址：某市某路1号　网站标识码：0000000001　备案号：某ICP备00000001号</div>"
    site.add("/art/1.html", f"<html><head><title>关于某公司拒绝执行处罚决定的通报</title></head><body>{chrome}<div id='zoom'>"
             f"<p>某公司拒绝执行我厅作出的行政处罚决定，我厅已依法申请人民法院强制执行。</p></div>{footer}</body></html>")
    assert main(["poll", "--once", str(config)]) == 0
    entries = feedparser.parse((tmp_path / "feeds" / "all.atom").read_bytes()).entries
    assert [entry.title for entry in entries] == ["关于某公司拒绝执行处罚决定的通报"]
    assert "申请人民法院强制执行" in entries[0].content[0].value
    assert "云防护" not in entries[0].content[0].value


def test_try_reports_a_block_page_with_the_hint(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.add("/list/", Response(RUISHU.encode(), status=412))
    assert main(["try", site.url("/list/")]) == 1
    err = capsys.readouterr().err
    assert "error: blocked: HTTP 412 with a `$_ts` challenge script" in err
    assert "set the source's `proxy`, `warmup` or `render` option" in err
