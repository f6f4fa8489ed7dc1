"""Hanweb JCMS datastore records, dataproxy paging and TRS paging."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aggregator.config import ListSelectors
from aggregator.extract.decode import decode_html
from aggregator.extract.hanweb import dataproxy_requests, find_records, trs_page_urls
from aggregator.extract.html_list import extract_list

SITES = Path(__file__).parent / "fixtures" / "sites"
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SH)
COL_URL = "https://sthjt.zj.gov.cn/col/col1229116/index.html"


def col_page() -> str:
    return decode_html((SITES / "sthjt" / "col1229116-index.html").read_bytes()).text


def test_records_are_read_from_the_datastore() -> None:
    records = find_records(col_page())
    assert records is not None and len(records) == 5
    assert records[0].startswith('<li><a href="/art/2023/4/23/art_1229116_58938545.html"')


def test_a_page_without_datastore_is_not_hanweb() -> None:
    assert find_records("<html><body><ul><li><a href='/a'>x</a></li></ul></body></html>") is None


def test_dataproxy_requests_carry_the_page_parameters() -> None:
    requests = dataproxy_requests(col_page(), COL_URL, 3)
    assert len(requests) == 1  # 5 records on the page, 8 in all
    request = requests[0]
    assert request.url == "https://sthjt.zj.gov.cn/module/jpage/dataproxy.jsp?startrecord=6&endrecord=8&perpage=5"
    assert request.method == "POST"
    assert dict(request.form) == {
        "col": "1", "appid": "1", "webid": "1756", "path": "/", "columnid": "1229116",
        "sourceContentType": "1", "unitid": "4399227", "webname": "浙江省生态环境厅", "permissiontype": "0",
    }


def test_dataproxy_requests_without_total_use_the_site_step() -> None:
    html = col_page().replace("totalRecord: 8,", "").replace("groupSize: 1,", "groupSize: 3,")
    requests = dataproxy_requests(html, COL_URL, 2)
    assert [(r.start, r.end) for r in requests] == [(6, 20), (21, 35)]


def test_no_parameters_no_requests() -> None:
    assert dataproxy_requests("<html><script>var x = 1;</script></html>", COL_URL, 3) == []


def test_dataproxy_response_gives_its_records() -> None:
    records = find_records((SITES / "sthjt" / "dataproxy-page2.xml").read_text(encoding="utf-8"))
    assert records is not None and len(records) == 3


def test_extract_list_reads_datastore_with_selectors() -> None:
    page = extract_list(col_page(), COL_URL, ListSelectors(item="li", title="a@title", date="span"), tz=SH, now=NOW)
    assert [item.title for item in page.items] == [
        "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会",
        "浙江省生态环境厅关于2023年第一季度生态环境行政处罚案件的通报",
        "“绿剑2023”生态环境执法专项行动正式启动",
        "省生态环境厅公布一批第三方环保服务机构弄虚作假典型案例",
        "全省生态环境执法大练兵活动方案印发",
    ]
    assert page.items[0].url == "https://sthjt.zj.gov.cn/art/2023/4/23/art_1229116_58938545.html"
    assert page.items[0].published_text == "2023-04-23"
    assert page.paging is not None and page.paging.kind == "hanweb" and page.paging.total == 8


def test_extract_list_reads_datastore_without_selectors() -> None:
    page = extract_list(col_page(), COL_URL, None, tz=SH, now=NOW)
    assert len(page.items) == 5
    # The cut link text ("…") is replaced by the full title attribute.
    assert page.items[0].title == "浙江省生态环境厅召开2023年度全省生态环境执法暨“大综合一体化”行政执法改革工作推进会"
    assert all("全省生态环境系统召开安全生产工作会议" != item.title for item in page.items)  # sidebar
    assert page.chosen is not None and 'title = "a@title"' in page.chosen


def test_extract_list_reads_a_dataproxy_response() -> None:
    body = (SITES / "sthjt" / "dataproxy-page2.xml").read_text(encoding="utf-8")
    url = "https://sthjt.zj.gov.cn/module/jpage/dataproxy.jsp?startrecord=6&endrecord=8&perpage=5"
    page = extract_list(body, url, ListSelectors(item="li", title="a@title", date="span"), tz=SH, now=NOW)
    assert [(i.url, i.title, i.published_text) for i in page.items] == [
        ("https://sthjt.zj.gov.cn/art/2023/3/15/art_1229116_58933310.html", "宁波市生态环境局查处一起危险废物非法转移案", "2023-03-15"),
        ("https://sthjt.zj.gov.cn/art/2023/3/8/art_1229116_58932200.html", "杭州市生态环境行政执法队开展亚运场馆周边执法检查", "2023-03-08"),
        ("https://sthjt.zj.gov.cn/art/2023/2/27/art_1229116_58931015.html", "2022年度全省生态环境执法大练兵优秀单位和个人名单公布", "2023-02-27"),
    ]


def test_trs_paging() -> None:
    html = (SITES / "mee" / "index.html").read_text(encoding="utf-8")
    assert trs_page_urls(html, "https://www.mee.gov.cn/ywdt/", 2) == [
        "https://www.mee.gov.cn/ywdt/index_1.shtml",
        "https://www.mee.gov.cn/ywdt/index_2.shtml",
    ]
    assert len(trs_page_urls(html, "https://www.mee.gov.cn/ywdt/index.shtml", 100)) == 33
    assert trs_page_urls("<script>createPageHTML(1, 0, 'index', 'html');</script>", "https://a.gov.cn/x/", 5) == []
    # The other call shape: container id first, record count last.
    other = "<script>createPageHTML('page_div',3, 1,'index','html',58);</script>"
    assert trs_page_urls(other, "https://a.gov.cn/x/index.html", 5) == ["https://a.gov.cn/x/index_1.html", "https://a.gov.cn/x/index_2.html"]


def test_malformed_datastore_gives_fewer_items_not_errors() -> None:
    broken = "<script type='text/xml'><datastore><recordset><record><![CDATA[<li><a href='/art/1.html'>第一条新闻标题很长</a>"
    assert find_records(broken) == []
    page = extract_list(broken, COL_URL, None, tz=SH, now=NOW)
    assert page.items == [] and page.warnings
