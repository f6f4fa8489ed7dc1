"""Category rules on penalty cases (issue 19): `fine_at_least` and `party`, alone and with `include`,
through classify, a config edit and `build`, a real poll, and the notifications that follow categories."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urljoin

import feedparser
import pytest

from aggregator import read
from aggregator.classify import classify
from aggregator.cli import EXIT_CONFIG, main
from aggregator.config import Config, Source, load_config, parse_config
from aggregator.fetch import Request
from aggregator.models import Case, FetchResult, Item, RawItem
from aggregator.read import ReadContext, Rows
from aggregator.scheduler import Daemon
from aggregator.store import open_store

from .conftest import Site, write_config
from .storehelpers import NOW
from .storehelpers import item as stored_item
from .test_notify import Clock, Hook, daemon_session

RULES = """
[categories.big-fines]
title = "大额罚款"
rules = { fine_at_least = 1000000 }

[categories.suppliers]
title = "供应商"
rules = { party = ["示例化工", "re:^绿源.*有限公司$"] }

[categories.supplier-fines]
title = "供应商的罚款决定"
[categories.supplier-fines.rules]
include = ["罚款"]
exclude = ["撤销"]
party = ["示例化工"]
fine_at_least = 0

[categories.news]
title = "新闻"

[[sources]]
name = "mee"
url = "https://www.mee.gov.cn/ywdt/"
categories = ["news"]

[[sources]]
name = "big-only"
url = "https://example.com/"
[sources.keep]
fine_at_least = 100000
[sources.drop]
party = ["测试"]
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(RULES)


def case_item(title: str, *, party: str | None = None, fine: int | None = None, body: str = "") -> Item:
    case = Case(party=party, fine_yuan=fine) if party or fine is not None else None
    return Item(key="url:https://example.com/" + title, source="mee", url="https://example.com/a", title=title,
                published=None, updated=None, content_html=f"<p>{body}</p>" if body else None, case=case)


def categories(config: Config, item: Item, source: str = "mee") -> tuple[str, ...]:
    return classify(item, config.source(source), config).categories


def test_fine_at_least_takes_cases_fined_that_much_or_more(config: Config) -> None:
    assert categories(config, case_item("甲", party="甲公司", fine=1_500_000)) == ("big-fines", "news")
    assert categories(config, case_item("乙", party="乙公司", fine=1_000_000)) == ("big-fines", "news")  # at least: equal counts
    assert categories(config, case_item("丙", party="丙公司", fine=999_999)) == ("news",)
    # No case, or a case that states no fine (a warning only): never a match, whatever the title says.
    assert categories(config, case_item("罚款人民币200万元的处罚决定")) == ("news",)
    assert categories(config, case_item("丁", party="丁公司")) == ("news",)


def test_party_matches_part_of_the_name_any_case_or_a_regex(config: Config) -> None:
    assert "suppliers" in categories(config, case_item("a", party="示例化工有限公司", fine=10))
    assert "suppliers" in categories(config, case_item("b", party="绿源环保科技有限公司"))
    assert "suppliers" not in categories(config, case_item("c", party="绿源环保科技有限公司分公司"))  # the regex is anchored
    assert "suppliers" not in categories(config, case_item("示例化工的新闻"))  # the title is not the party


def test_every_condition_given_must_hold_and_exclude_still_wins(config: Config) -> None:
    both = case_item("x", party="示例化工有限公司", fine=50_000, body="决定给予罚款人民币五万元")
    assert "supplier-fines" in categories(config, both)
    reasons = classify(both, config.source("mee"), config).reasons
    assert ("supplier-fines: body matches '罚款' and fine 50,000 yuan is at least 0 and party '示例化工有限公司'"
            " matches '示例化工'") in reasons
    assert "supplier-fines" not in categories(config, case_item("y", party="其他公司", fine=50_000, body="罚款"))
    assert "supplier-fines" not in categories(config, case_item("z", party="示例化工有限公司", fine=50_000, body="警告"))
    assert "supplier-fines" not in categories(config, case_item("w", party="示例化工有限公司", body="罚款"))  # no fine stated
    withdrawn = case_item("v", party="示例化工有限公司", fine=50_000, body="罚款决定已撤销")
    assert "supplier-fines" not in categories(config, withdrawn)


def test_keep_and_drop_filters_take_the_same_conditions(config: Config) -> None:
    def kept(item: Item) -> bool:
        return classify(item, config.source("big-only"), config).keep

    assert kept(case_item("a", party="甲公司", fine=200_000))
    assert not kept(case_item("b", party="甲公司", fine=20_000))
    assert not kept(case_item("c"))  # not a case: the keep rule asks for a fine
    assert not kept(case_item("d", party="测试公司", fine=200_000))  # dropped by party
    verdict = classify(case_item("e", party="甲公司", fine=5), config.source("big-only"), config)
    assert "dropped: does not meet every keep rule (include, fine_at_least, party)" in verdict.reasons


@pytest.mark.parametrize(
    ("rules", "words", "line"),
    [
        ('rules = { fine_at_least = "1M" }', ("categories.big.rules.fine_at_least", 'got "1M"', "fine_at_least = 1000000"), 3),
        ("rules = { fine_at_least = 1.5e6 }", ("whole number of yuan", "1500000.0"), 3),
        ("rules = { fine_at_least = -1 }", ("must be 0 or more yuan", "got -1"), 3),
        ("rules = { fine_at_least = true }", ("whole number of yuan",), 3),
        ('rules = { party = "示例化工" }', ("categories.big.rules.party", 'write a list: ["示例化工"]'), 3),
        ('rules = { party = [""] }', ("empty name would match every party",), 3),
        ('rules = { party = ["re:(示例"] }', ("bad regular expression",), 3),
        ('\n[categories.big.rules]\ninclude = ["罚"]\nfine_at_least = "100万"', ('got "100万"',), 6),
        ('rules = { fine = 5 }', ("unknown key 'fine'", "fine_at_least", "party"), 3),
    ],
)
def test_bad_case_rules_name_file_line_key_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: str, words: tuple[str, ...], line: int
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[categories.big]\ntitle = "大额罚款"\n{rules}\n', encoding="utf-8")
    assert main(["check", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"{path}:{line}:" in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_check_lists_the_case_conditions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(RULES, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    # A set of case conditions only is shown as those: "+0 -0" would read as a set that matches nothing.
    assert "big-fines        大额罚款  rules: fine >= 1,000,000 yuan\n" in out
    assert "suppliers        供应商  rules: party: 示例化工, re:^绿源.*有限公司$\n" in out
    assert "supplier-fines   供应商的罚款决定  rules: +1 -1, fine >= 0 yuan, party: 示例化工\n" in out
    assert "+0 -0" not in out


def test_a_rule_added_later_re_sorts_stored_cases_in_build_and_status_explain(tmp_path: Path) -> None:
    """Stored items re-derive their categories from their stored case when the rules change."""
    config = write_config(tmp_path, '[categories.news]\ntitle = "新闻"\n\n[[sources]]\nname = "s"\n'
                          'url = "https://example.org/"\ncategories = ["news"]\n')
    with open_store(tmp_path / "store.json") as store:
        store.apply("s", [
            stored_item(1, title="示环罚〔2026〕1号", case=Case(number="示环罚〔2026〕1号", party="示例化工有限公司", fine_yuan=2_000_000)),
            stored_item(2, title="示环罚〔2026〕2号", case=Case(number="示环罚〔2026〕2号", party="其他公司", fine_yuan=30_000)),
            stored_item(3, title="春季植树活动"),
        ], NOW)
    assert main(["build", str(config)]) == 0
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[[sources]]", '[categories.big-fines]\ntitle = "大额罚款"\nrules = { fine_at_least = 1000000 }\n\n'
        '[categories.suppliers]\ntitle = "供应商"\nrules = { party = ["示例化工"] }\n\n[[sources]]'), encoding="utf-8")
    assert main(["build", str(config)]) == 0
    feeds = tmp_path / "feeds"
    assert [e.title for e in feedparser.parse((feeds / "big-fines.atom").read_bytes()).entries] == ["示环罚〔2026〕1号"]
    assert [e.title for e in feedparser.parse((feeds / "suppliers.atom").read_bytes()).entries] == ["示环罚〔2026〕1号"]
    assert len(feedparser.parse((feeds / "news.atom").read_bytes()).entries) == 3
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["status", str(config), "--explain", "3"])
    text = out.getvalue()
    assert "示环罚〔2026〕1号  [big-fines, news, suppliers]" in text
    assert "big-fines: fine 2,000,000 yuan is at least 1,000,000" in text
    assert "示环罚〔2026〕2号  [news]" in text


# -- a real poll: a reader that lists decisions as lines of text, each with its case -----------


class CaseLines:
    """A column that lists decisions one per line: title, link, party, fine ("-": not stated)."""

    kind: ClassVar[str] = "case-lines"
    renders: ClassVar[bool] = False

    def request(self, source: Source) -> Request:
        return Request(source.url, accept="text/plain", page=False)

    def recognises(self, page: FetchResult) -> bool:
        return False

    async def read(self, page: FetchResult, context: ReadContext) -> Rows:
        items = []
        for line in page.body.decode("utf-8").splitlines():
            title, link, party, fine = line.split("\t")
            case = Case(party=None if party == "-" else party, fine_yuan=None if fine == "-" else int(fine))
            items.append(RawItem(url=urljoin(page.url, link), title=title, summary_html=f"<p>{title}</p>",
                                 published_text="2026-11-20", case=case or None))
        return Rows(items, wants_articles=False)


@pytest.fixture
def case_lines() -> Iterator[None]:
    read.register(CaseLines())
    try:
        yield
    finally:
        del read.READERS[CaseLines.kind]


def lines(*rows: tuple[str, str, str]) -> str:
    return "".join(f"{title}\t/d/{title}.html\t{party}\t{fine}\n" for title, party, fine in rows)


def test_a_poll_sorts_cases_into_their_feeds_and_the_target_of_a_case_feed_gets_only_its_cases(
    tmp_path: Path, site: Site, case_lines: None
) -> None:
    hook = Hook(site)
    site.add("/cases.txt", lines(("旧案", "旧公司", "3000000")), content_type="text/plain; charset=utf-8")
    path = write_config(tmp_path, f"""
[categories.enforcement]
title = "执法"
[categories.big-fines]
title = "大额罚款"
rules = {{ fine_at_least = 1000000 }}
[categories.suppliers]
title = "供应商"
rules = {{ party = ["示例化工"] }}

[[sources]]
name = "cases"
kind = "case-lines"
url = "{site.url('/cases.txt')}"
categories = ["enforcement"]
fetch_articles = false

[[notify]]
name = "compliance"
url = "json://{site.base.removeprefix('http://')}/hook"
categories = ["big-fines"]
""")
    config = load_config(path)
    clock = Clock()

    async def steps(daemon: Daemon) -> None:
        await daemon.poll("cases")
        await daemon.notifier.drain()
        site.add("/cases.txt", lines(
            ("甲案", "甲公司", "1500000"),
            ("乙案", "示例化工有限公司", "50000"),
            ("丙通知", "-", "-"),
            ("丁案", "丁公司", "1000000"),
            ("旧案", "旧公司", "3000000"),
        ), content_type="text/plain; charset=utf-8")
        clock.advance(600)
        await daemon.poll("cases")
        await daemon.notifier.drain()
        daemon.publish_now()

    daemon_session(config, clock, steps)
    assert [m["title"] for m in hook.messages] == ["大额罚款: 1 items from the first poll of cases", "大额罚款: 2 new items"]
    second = hook.messages[1]["message"]
    assert "甲案" in second and "丁案" in second
    assert "乙案" not in second and "丙通知" not in second and "旧案" not in second
    feeds = tmp_path / "feeds"
    big = {e.title for e in feedparser.parse((feeds / "big-fines.atom").read_bytes()).entries}
    assert big == {"旧案", "甲案", "丁案"}
    assert [e.title for e in feedparser.parse((feeds / "suppliers.atom").read_bytes()).entries] == ["乙案"]
    assert len(feedparser.parse((feeds / "enforcement.atom").read_bytes()).entries) == 5
