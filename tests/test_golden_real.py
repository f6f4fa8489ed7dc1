"""Golden test of issue 10: our extractors on every real page of tests/fixtures/real/manifest.json.

One test per page and field, scored by bench/accuracy_scoring.py (the rules the accuracy bench
uses; see the manifest's `conventions`). Pages run through the same functions as `aggregator try`
(decode_page + read_article, or read_list + normalise_all), from the file's bytes.

KNOWN_MISSES lists what the extractor still gets wrong. Each entry is an xfail(strict=True): when
a fix makes it pass, the test FAILS until the entry is deleted here, so the list stays true.
To see what we produce: .venv/bin/python -m bench.bench_accuracy --only ours --page FILE --verbose
To list what to delete / add after a change: .venv/bin/python tests/test_golden_real.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.accuracy_scoring import FIXTURES, GOLDEN_FIELDS, decode, load_manifest, page_bytes, run_ours, score  # noqa: E402

# (file, field) -> why we get it wrong today. Delete an entry when it starts passing.
KNOWN_MISSES: dict[tuple[str, str], str] = {
    ("youth-cn-article-utf8-declares-gb2312.html", "body_end"): "trailing byline (记者 … 来源：中国青年报) inside the container kept",
    ("sina-article-gbk.html", "source"): "来源 shown without a label (span#media_name), not read",
    ("sina-article-gbk.html", "body_end"): "mobile promo line (上手机新浪网…) inside #artibody kept",
    ("g02_cmse_gov_visible.html", "source"): "信息来源: value on the next line (own element); the label reader stops at newline",
    ("g04_nmg_gov.html", "body_end"): "page footer (已收藏 / 信息来源 / login prompt) appended to the body",
    ("g06_kaili_gov.html", "body_end"): "attachment list (附件 .xlsx/.doc) after 监督电话 kept",
    ("g08_sh_wsjkw_yqtb_article.html", "source"): "meta ContentSource taken; the page shows no 来源",
    ("g08_sh_wsjkw_yqtb_article.html", "body_start"): "body starts at the headline (h2.Article-title)",
    ("g08_sh_wsjkw_yqtb_article.html", "body_end"): "statistics table after the last sentence kept",
    ("l02_netease_international.html", "count"): "picks div.today_news (7 items), not the 140 div.data_row items",
    ("l02_netease_international.html", "first3_titles"): "wrong list chosen (div.today_news)",
    ("l02_netease_international.html", "first3_links"): "wrong list chosen (div.today_news)",
    ("l02_netease_international.html", "first3_dates"): "wrong list chosen; its items carry no date",
    ("l04_ifeng_finance.html", "count"): "picks the footer link grid (div.footerGrid1, 5 items), not the 25 <a> feed items",
    ("l04_ifeng_finance.html", "first3_titles"): "wrong list chosen (footer link grid)",
    ("l04_ifeng_finance.html", "first3_links"): "wrong list chosen (footer link grid)",
    ("l04_ifeng_finance.html", "first3_dates"): "wrong list chosen; the footer grid has no dates",
    ("l06_qbitai.html", "count"): "right container (.article_list) but only 6 of its 20 items kept",
    ("l06_qbitai.html", "first3_titles"): "first item (本周三！…) dropped, so the list is shifted",
    ("l06_qbitai.html", "first3_links"): "first item dropped, so the list is shifted",
    ("l06_qbitai.html", "first3_dates"): "first item dropped, so the list is shifted",
    ("l08_aibot.html", "count"): "unclosed nested div.news-list: selector anchors on the innermost block, 6 of 535 items",
    ("l08_aibot.html", "first3_titles"): "only the innermost news-list block's items (not the first ones)",
    ("l08_aibot.html", "first3_links"): "only the innermost news-list block's items (not the first ones)",
    ("l08_aibot.html", "first3_dates"): "wrong items, and the group-header dates (4月22日·周二) are not used",
    ("n04_sohu_business_gb2312.html", "publish_day"): "title at text offset 0 (envelope puts <title> in <body>): unlabelled byline date not searched",
    ("n04_sohu_business_gb2312.html", "source"): "来源：[ 国际金融报 ]: value in brackets on the next line, read as '['",
    ("n04_sohu_business_gb2312.html", "body_start"): "no content block found: body is the whole page, starts at the nav",
    ("n04_sohu_business_gb2312.html", "body_end"): "no content block found: body ends in the footer ads",
    ("n06_163_biz_gbk.html", "publish_day"): "title at text offset 0 (envelope puts <title> in <body>): unlabelled byline date not searched",
    ("n06_163_biz_gbk.html", "source"): "来源: value on the next line (own element); the label reader stops at newline",
    ("n06_163_biz_gbk.html", "body_start"): "no content block found: body starts at the breadcrumb",
    ("n06_163_biz_gbk.html", "body_end"): "no content block found: body ends in the site footer",
    ("n08_shjnet_trs.html", "source"): "byline source 光明网 has no 来源 label",
    ("n08_shjnet_trs.html", "body_end"): "print credit 《光明日报》… and editor line kept",
    ("n09_163_money_gb2312.html", "source"): "来源: value (a link) on the next line; the label reader stops at newline",
    ("n09_163_money_gb2312.html", "body_start"): "a block above #endText chosen: body starts at the headline and a lead paragraph",
    ("n09_163_money_gb2312.html", "body_end"): "跟贴 (comments) block kept",
    ("n10_163_money_gbk.html", "body_start"): "no content block found: body starts at the channel nav",
    ("n10_163_money_gbk.html", "body_end"): "跟贴 (comments) block kept",
    ("n12_qq_declgb2312.html", "source"): "source in span.where without a 来源 label",
    ("n12_qq_declgb2312.html", "body_end"): "copyright line 【…腾讯公司独家所有…】 inside the container kept",
    ("n14_cjn.html", "body_end"): "trailing （资料来源：…） note kept",
    ("n16_163_covid.html", "source"): "来源: value on the next line (own element); the label reader stops at newline",
    ("n16_163_covid.html", "body_start"): "body starts at the headline",
    ("n16_163_covid.html", "body_end"): "hot-news ranking (read counts + headlines) after the text kept",
    ("n18_stcn.html", "body_start"): "body starts at the breadcrumb (您所在的位置)",
    ("n18_stcn.html", "body_end"): "为你推荐 teasers and app promo kept",
    ("n20_he_xinhuanet_gbk.html", "publish_day"): "title at text offset 0: the unlabelled byline date is not searched",
    ("n20_he_xinhuanet_gbk.html", "source"): "稿件来源： value on the next line; the label reader stops at newline",
    ("n20_he_xinhuanet_gbk.html", "body_start"): "body starts at the headline and byline",
    ("n20_he_xinhuanet_gbk.html", "body_end"): "related-links newslist kept",
    ("n22_xinhuanet_wuhan.html", "title"): "'-新华网' suffix (no spaces around '-') not stripped",
    ("n22_xinhuanet_wuhan.html", "publish_day"): "unlabelled date; the suffixed title is not found above it",
    ("n22_xinhuanet_wuhan.html", "source"): "来源： value on the next line; the label reader stops at newline",
    ("n22_xinhuanet_wuhan.html", "body_start"): "channel label 评论 kept before the first paragraph",
    ("n25_sina_ent_gbk.html", "source"): "来源 shown without a label (span#media_name), not read",
    ("n25_sina_ent_gbk.html", "body_end"): "mobile promo line (上手机新浪网…) inside #artibody kept",
}

PAGES = load_manifest()
BY_FILE = {page["file"]: page for page in PAGES}


def _cases() -> list:
    cases = []
    for page in PAGES:
        for name in GOLDEN_FIELDS[page["kind"]]:
            key = (page["file"], name)
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[key])] if key in KNOWN_MISSES else []
            cases.append(pytest.param(page["file"], name, id=f"{page['file']}-{name}", marks=marks))
    return cases


@cache
def _ours(file: str):  # noqa: ANN202 - one extraction per page, shared by its fields
    page = BY_FILE[file]
    return run_ours(page), decode(page)


def test_known_misses_name_real_cases() -> None:
    fields = {(p["file"], f) for p in PAGES for f in GOLDEN_FIELDS[p["kind"]]}
    assert set(KNOWN_MISSES) <= fields, f"no such page/field: {sorted(set(KNOWN_MISSES) - fields)}"


@pytest.mark.parametrize("file", [p["file"] for p in PAGES])
def test_fixture_bytes_match_manifest(file: str) -> None:
    page = BY_FILE[file]
    assert (FIXTURES / file).is_file()
    assert hashlib.sha256(page_bytes(page)).hexdigest() == page["sha256"]


@pytest.mark.parametrize(("file", "field"), _cases())
def test_golden(file: str, field: str) -> None:
    page = BY_FILE[file]
    got, html = _ours(file)
    check = score(page, got, html, (field,))[field]
    assert check.ok, f"{file} {field}: got {check.got_full or check.got!r}, want {check.want!r}"


def _suggest() -> None:
    """Print the KNOWN_MISSES the current extractor calls for: entries to delete, entries to add."""
    misses: dict[tuple[str, str], str] = {}
    for page in PAGES:
        got, html = _ours(page["file"])
        for name, check in score(page, got, html, GOLDEN_FIELDS[page["kind"]]).items():
            if not check.ok:
                key = (page["file"], name)
                misses[key] = KNOWN_MISSES.get(key) or f"TODO reason (got {check.got!r})"
    for key in KNOWN_MISSES.keys() - misses.keys():
        print(f"now passes, delete: {key}")
    for key in misses.keys() - KNOWN_MISSES.keys():
        print(f"new miss, add: {key}: {misses[key]}")
    print("\nKNOWN_MISSES: dict[tuple[str, str], str] = {")
    for key, reason in misses.items():
        quoted = [json.dumps(text, ensure_ascii=False) for text in (*key, reason)]
        print(f"    ({quoted[0]}, {quoted[1]}): {quoted[2]},")
    print("}")


if __name__ == "__main__":
    _suggest()
