"""Categories from source defaults and rules; source keep/drop filters; reasons."""

from __future__ import annotations


import pytest

from aggregator.classify import classify
from aggregator.normalise.text import html_to_text
from aggregator.config import Config, parse_config
from aggregator.models import Item

CONFIG = """
[categories.enforcement]
title = "执法"
[categories.enforcement.rules]
include = ["执法", "处罚", "督察", "案件", "绿剑", "查处", "罚款", "re:行政处罚决定书?"]
exclude = ["招聘"]

[categories.ecology]
title = "生态"
[categories.ecology.rules]
include = ["生态", "环境质量", "污染防治", "绿水青山"]
exclude = ["re:^关于.*征求意见"]
fields = ["title", "body"]

[categories.wildlife]
title = "Wildlife"
[categories.wildlife.rules]
include = ["Panda", "re:\\\\bbirds?\\\\b"]

[categories.zhejiang]
title = "浙江"
[categories.zhejiang.rules]
include = ["浙江省生态环境厅"]
fields = ["source"]

[categories.news]
title = "News"

[[sources]]
name = "mee"
url = "https://www.mee.gov.cn/ywdt/"
categories = ["news"]

[[sources]]
name = "zj-sthjt"
url = "https://sthjt.zj.gov.cn/col/col1229263469/index.html"
categories = ["news", "ecology"]

[[sources]]
name = "filtered"
url = "https://example.com/"
categories = ["news"]
[sources.keep]
include = ["环境"]
exclude = ["广告"]
[sources.drop]
include = ["re:公示\\\\d*$"]
exclude = ["处罚"]
fields = ["title"]
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


def item(title: str, body: str | None = None, *, source: str = "mee", origin: str | None = None) -> Item:
    return Item(
        key="url:https://example.com/" + title,
        source=source,
        url="https://example.com/a",
        title=title,
        published=None,
        updated=None,
        origin=origin,
        content_html=body,
    )


def test_enforcement_keywords_in_the_title(config: Config) -> None:
    for title in ("杭州市开展环境执法专项行动", "某公司被罚款20万元", "浙江公布一批环境违法处罚案件"):
        result = classify(item(title), config.source("mee"), config)
        assert "enforcement" in result.categories, title
        assert result.keep


def test_source_default_categories_and_sorting(config: Config) -> None:
    result = classify(item("绿水青山就是金山银山"), config.source("mee"), config)
    assert result.categories == ("ecology", "news")
    assert "news: source default" in result.reasons
    assert "ecology: title matches '绿水青山'" in result.reasons


def test_exclude_beats_include(config: Config) -> None:
    result = classify(item("生态环境执法队伍招聘公告"), config.source("mee"), config)
    assert "enforcement" not in result.categories
    assert "enforcement: excluded by title matching '招聘'" in result.reasons


def test_exclude_beats_the_source_default(config: Config) -> None:
    source = config.source("zj-sthjt")
    assert "ecology" in classify(item("一般新闻"), source, config).categories
    result = classify(item("关于《排污许可管理办法》公开征求意见的通知"), source, config)
    assert "ecology" not in result.categories
    assert "news" in result.categories
    assert "ecology: excluded by title matching 're:^关于.*征求意见'" in result.reasons


def test_body_is_matched_without_tags_and_entities(config: Config) -> None:
    body = "<div><p>近日，我局对该企业<b>依法</b>作出行政&#22788;&#32602;决定。</p><script>var 执法=1</script></div>"
    result = classify(item("一则新闻", body), config.source("mee"), config)
    assert "enforcement" in result.categories
    assert "enforcement: body matches '处罚'" in result.reasons
    # Markup is not text: an inline tag must not break a word, a script is not content.
    assert "enforcement" in classify(item("x", "<p>罚<b>款</b></p>"), config.source("mee"), config).categories
    assert "执法" not in html_to_text(body)
    assert html_to_text("<p>birds</p><p>are</p>") == "birds are"


def test_summary_is_used_when_there_is_no_content(config: Config) -> None:
    entry = item("一则新闻")
    entry.summary_html = "<p>开展污染防治攻坚战</p>"
    assert "ecology" in classify(entry, config.source("mee"), config).categories


def test_regex_rules(config: Config) -> None:
    result = classify(item("浙江省生态环境厅行政处罚决定书"), config.source("mee"), config)
    assert "enforcement" in result.categories
    assert classify(item("A bird was seen"), config.source("mee"), config).categories == ("news", "wildlife")
    assert "wildlife" not in classify(item("Birdsong festival"), config.source("mee"), config).categories


def test_plain_patterns_are_case_insensitive(config: Config) -> None:
    result = classify(item("Giant PANDA born"), config.source("mee"), config)
    assert "wildlife" in result.categories
    assert "wildlife: title matches 'Panda'" in result.reasons


def test_source_field_covers_name_and_origin(config: Config) -> None:
    plain = classify(item("新闻"), config.source("mee"), config)
    assert "zhejiang" not in plain.categories
    reposted = classify(item("新闻", origin="浙江省生态环境厅"), config.source("mee"), config)
    assert "zhejiang" in reposted.categories
    assert "zhejiang: source matches '浙江省生态环境厅'" in reposted.reasons
    # Title is not among the rule's fields.
    assert "zhejiang" not in classify(item("浙江省生态环境厅发布"), config.source("mee"), config).categories


def test_category_defined_purely_by_rules_over_any_source(config: Config) -> None:
    for name in ("mee", "zj-sthjt", "filtered"):
        assert "enforcement" in classify(item("环境执法"), config.source(name), config).categories


def test_keep_filter(config: Config) -> None:
    source = config.source("filtered")
    kept = classify(item("环境新闻"), source, config)
    assert kept.keep
    assert "kept: title matches '环境'" in kept.reasons
    rejected = classify(item("体育新闻"), source, config)
    assert not rejected.keep
    assert "dropped: matches none of the keep rules" in rejected.reasons
    assert not classify(item("环境广告"), source, config).keep


def test_drop_filter_with_exception(config: Config) -> None:
    source = config.source("filtered")
    dropped = classify(item("环境影响评价公示2"), source, config)
    assert not dropped.keep
    assert "dropped: title matches 're:公示\\\\d*$'" in dropped.reasons
    spared = classify(item("环境行政处罚公示"), source, config)
    assert spared.keep
    assert "not dropped: title matches drop-exclude '处罚'" in spared.reasons


def test_no_rules_means_defaults_only_and_kept() -> None:
    config = parse_config('[categories.a]\ntitle="A"\n[[sources]]\nname="s"\nurl="https://e.com/"\ncategories=["a"]\n')
    result = classify(item("anything"), config.source("s"), config)
    assert result.categories == ("a",)
    assert result.keep
    assert result.reasons == ["a: source default"]


def test_build_and_status_explain_follow_a_rule_added_after_the_items_were_stored(site, tmp_path) -> None:  # noqa: ANN001
    """Issue 14.1: `build` after a config edit re-sorts stored items; `status --explain` says the same."""
    import contextlib
    import io

    import feedparser

    from aggregator.cli import main

    from .conftest import write_config

    items = "".join(
        f"<item><title>{title}</title><link>https://example.gov.cn/{n}.html</link><description>{title}</description>"
        f"<pubDate>Fri, 10 May 2024 0{n}:00:00 +0800</pubDate></item>"
        for n, title in enumerate(["示例市开展春季河湖生态保护专项巡查", "示例省通报三起环境违法案件"])
    )
    site.add("/a.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://example.gov.cn/</link>'
             f"<description>d</description>{items}</channel></rss>", content_type="application/rss+xml")
    body = '[categories.ecology]\ntitle = "E"\n\n[[sources]]\nname = "a"\nurl = "%s"\nkind = "feed"\ncategories = ["ecology"]\n'
    config = write_config(tmp_path, body % site.url("/a.xml"))
    assert main(["poll", "--once", str(config)]) == 0
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[categories.ecology]", '[categories.water]\ntitle = "W"\nrules = {include = ["河湖"]}\n\n[categories.ecology]'
    ), encoding="utf-8")
    assert main(["build", str(config)]) == 0
    water = feedparser.parse((tmp_path / "feeds" / "water.atom").read_bytes())
    assert [e.title for e in water.entries] == ["示例市开展春季河湖生态保护专项巡查"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["status", str(config), "--explain", "5"])
    text = out.getvalue()
    assert "示例市开展春季河湖生态保护专项巡查  [ecology, water]" in text
    assert "示例省通报三起环境违法案件  [ecology]" in text
    assert "water: title matches '河湖'" in text


# --- several rule sets in one category (issue 18 b): the example's enforcement rules ---------------

from pathlib import Path  # noqa: E402

from aggregator.classify import classification_fingerprint  # noqa: E402
from aggregator.config import ConfigError  # noqa: E402
from aggregator.models import Case  # noqa: E402

EXAMPLE = (Path(__file__).parents[1] / "config" / "example.toml").read_text(encoding="utf-8")
EXAMPLE_CATEGORIES = EXAMPLE[EXAMPLE.index("# --- categories"):EXAMPLE.index("# --- sources")]


@pytest.fixture(scope="module")
def example() -> Config:
    return parse_config(EXAMPLE_CATEGORIES + '[[sources]]\nname = "news"\nurl = "https://example.gov.cn/"\n')


def enforced(config: Config, title: str, body: str | None = None, case: Case | None = None) -> bool:
    news = item(title, body, source="news")
    news.case = case
    return "enforcement" in classify(news, config.source("news"), config).categories


def test_a_routine_news_item_ending_in_supervision_words_is_not_enforcement(example: Config) -> None:
    body = "<p>会议强调，要统筹推进生态环境保护各项工作，持续改善环境质量，加强监管执法。</p>"
    assert not enforced(example, "全市生态环境保护工作会议召开", body)
    assert not enforced(example, "生态环境部通报2月全国地表水环境质量状况", "<p>依法依规加强执法监管。</p>")


def test_an_enforcement_headline_is_enforcement_whatever_its_body(example: Config) -> None:
    assert enforced(example, "我市依法查处一起非法倾倒固体废物案", "<p>近日，我局……</p>")
    assert enforced(example, "关于2025年第一季度环境违法问题的通报")
    assert enforced(example, "省生态环境厅通报5个典型问题")


def test_an_authoritys_name_does_not_make_an_item_ecology_news(example: Config) -> None:
    def ecology(title: str, body: str) -> bool:
        return "ecology" in classify(item(title, body, source="news"), example.source("news"), example).categories

    signed = "<p>处罚决定：罚款人民币8万元。</p><p>上海市生态环境局 2026年11月11日</p>"
    assert not ecology("上海市生态环境局行政处罚信息（沪环罚〔2026〕101号）", signed)
    assert not ecology("关于某公司环境违法案件的处理结果", "<p>我部将持续推进生态环境保护。</p>")
    assert ecology("持续推进生态文明建设", "<p>生态环境部</p>")
    assert ecology("省生态环境厅发布11月全省环境质量状况", "<p>…</p>")


def test_strong_evidence_in_the_body_is_enforcement(example: Config) -> None:
    assert enforced(example, "关于某化工公司的处理情况", "<p>依法对其作出罚款人民币5万元的行政处罚。</p>")
    assert enforced(example, "一则工作动态", "<p>对该企业处以罚款 12.5 万元，并责令限期整改。</p>")
    assert enforced(example, "一则工作动态", "<p>案件已移送公安机关处理。</p>")
    result = classify(item("一则工作动态", "<p>依法立案查处。</p>", source="news"), example.source("news"), example)
    assert "enforcement: body matches '立案查处'" in result.reasons  # the set that took it says why


def test_a_decision_that_states_a_fine_is_enforcement(example: Config) -> None:
    assert enforced(example, "示环罚〔2026〕15号", case=Case(number="示环罚〔2026〕15号", fine_yuan=0))
    assert not enforced(example, "示环罚〔2026〕16号", case=Case(number="示环罚〔2026〕16号", penalty="警告"))


def test_an_exclude_in_any_rule_set_keeps_the_item_out(example: Config) -> None:
    assert not enforced(example, "执法大队招聘公告")
    # The exclude is written in the title set, but the body set would have taken this one.
    assert not enforced(example, "环境监测站招聘", "<p>依法对其作出罚款人民币5万元的行政处罚。</p>")


def test_one_table_and_a_list_of_one_are_the_same_rules_and_fingerprint() -> None:
    table = parse_config('[categories.e]\ntitle = "E"\n[categories.e.rules]\ninclude = ["执法"]\n')
    listed = parse_config('[categories.e]\ntitle = "E"\n[[categories.e.rules]]\ninclude = ["执法"]\n')
    inline = parse_config('[categories.e]\ntitle = "E"\nrules = [{ include = ["执法"] }]\n')
    assert table.categories == listed.categories == inline.categories
    assert classification_fingerprint(table) == classification_fingerprint(listed)
    # A second set re-sorts stored items at the next publish: the fingerprint changes.
    two = parse_config('[categories.e]\ntitle = "E"\n[[categories.e.rules]]\ninclude = ["执法"]\n'
                       '[[categories.e.rules]]\ninclude = ["罚款人民币"]\nfields = ["body"]\n')
    assert classification_fingerprint(two) != classification_fingerprint(listed)


def test_a_bad_key_in_the_second_rule_set_names_its_line_and_the_fix(tmp_path: Path) -> None:
    text = ('[categories.e]\ntitle = "E"\n[[categories.e.rules]]\ninclude = ["执法"]\nfields = ["title"]\n'
            '[[categories.e.rules]]\ninclude = ["罚款人民币"]\nfields = ["text"]\n')
    with pytest.raises(ConfigError) as refused:
        parse_config(text, tmp_path / "feeds.toml")
    message = str(refused.value)
    assert "feeds.toml:8: categories.e.rules[1].fields[0]: Input should be 'title', 'body' or 'source'" in message
    with pytest.raises(ConfigError) as single:
        parse_config('[categories.e]\ntitle = "E"\n[categories.e.rules]\nfield = ["title"]\n', tmp_path / "feeds.toml")
    assert "feeds.toml:4: categories.e.rules.field: unknown key 'field'; allowed: exclude, fields" in str(single.value)
    with pytest.raises(ConfigError) as loose:
        parse_config('[categories.e]\ntitle = "E"\nrules = "执法"\n', tmp_path / "feeds.toml")
    assert "feeds.toml:3: categories.e.rules: rules is a table" in str(loose.value)
    assert "[[categories.NAME.rules]]" in str(loose.value)


# --- the example's ecology rules: 生态 is in every 生态环境 authority's name ------------------------


def ecological(config: Config, title: str, body: str | None = None) -> bool:
    return "ecology" in classify(item(title, body, source="news"), config.source("news"), config).categories


def test_the_authoritys_own_name_does_not_make_an_item_ecology(example: Config) -> None:
    decision = ("<p>杭州市生态环境局行政处罚决定书</p><p>你单位违反《中华人民共和国大气污染防治法》第一百零八条，"
                "依法对其作出罚款人民币5万元的行政处罚。</p>")
    assert not ecological(example, "杭州市生态环境局行政处罚决定书（杭环罚〔2026〕12号）", decision)
    assert enforced(example, "杭州市生态环境局行政处罚决定书（杭环罚〔2026〕12号）", decision)  # where it belongs
    assert not ecological(example, "市生态环境局召开党风廉政建设工作会议", "<p>市生态环境局全体干部参加。推动生态环境保护工作。</p>")
    assert not ecological(example, "违反《水污染防治法》案件查处情况", "<p>省生态环境厅通报。</p>")
    assert not ecological(example, "生态环境监测站招聘公告", "<p>生物多样性调查岗位。</p>")


def test_ecology_headlines_and_environmental_quality_reports_are_ecology(example: Config) -> None:
    assert ecological(example, "我省新增3处国家级自然保护区")
    assert ecological(example, "山水林田湖草沙一体化生态修复工程通过验收")
    assert ecological(example, "生态环境部通报2月全国地表水环境质量状况")
    assert ecological(example, "1—10月全省环境空气质量状况")
    assert ecological(example, "打好污染防治攻坚战")


def test_strong_evidence_in_the_body_is_ecology(example: Config) -> None:
    assert ecological(example, "一则工作动态", "<p>全市划定生态保护红线面积1.2万平方公里。</p>")
    assert ecological(example, "一则工作动态", "<p>1—10月，全市PM2.5平均浓度为28微克/立方米。</p>")
    result = classify(item("一则工作动态", "<p>优良天数比例为91.2%。</p>", source="news"), example.source("news"), example)
    assert "ecology: body matches '优良天数'" in result.reasons
