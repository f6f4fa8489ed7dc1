"""Sources whose items are completed from article pages, across polls of a changing list."""

from __future__ import annotations

from pathlib import Path

import pytest
from aggregator import enrich
from aggregator.cli import main
from aggregator.store import open_store

from .conftest import Request, Response, Site, write_config

def list_page(rows: list[int], *, relative: bool = False) -> str:
    items = "".join(
        f'<li><a href="/art/{n}.html">第{n}号执法通报关于某企业的…</a><span>{"3小时前" if relative else "2024-05-0" + str(n % 9 + 1)}</span></li>'
        for n in rows
    )
    return f'<html><body><ul class="list">{items}</ul></body></html>'


def article(request: Request) -> Response:
    n = request.path.split("/")[-1].split(".")[0]
    return Response(
        f"""<html><head><meta name="ArticleTitle" content="第{n}号执法通报关于某企业超标排放的处罚决定全文">
<meta name="PubDate" content="2024-05-01 09:42:56"><meta name="ContentSource" content="浙江省生态环境厅"></head>
<body><div id="zoom"><p>第{n}号通报正文：依法处罚，罚款十万元。</p></div></body></html>""".encode()
    )


def config_for(tmp_path: Path, site: Site, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        f"""
[categories.enforcement]
title = "执法"
rules = {{ include = ["罚款"] }}

[[sources]]
name = "bureau"
url = "{site.url('/list/')}"
kind = "html"
fetch_articles = true
{extra}
[sources.list]
item = "ul.list li"
date = "span"
""",
    )


def snapshot(tmp_path: Path) -> dict[str, tuple]:
    with open_store(tmp_path / "store.json") as store:
        return {
            i.url.split("/", 3)[-1].removeprefix("art/"): (i.title, i.published, i.origin, i.content_html, i.categories, i.updated)
            for i in store.items(with_body=True)
        }


@pytest.fixture
def bureau(site: Site) -> Site:
    for n in range(1, 8):
        site.add(f"/art/{n}.html", article)
    return site


def test_a_list_page_that_changes_around_unchanged_rows_polls_cleanly(tmp_path: Path, bureau: Site) -> None:
    """A visit counter or a new banner changes the page, not its rows: no article to read, no error."""
    bureau.add("/list/", list_page([1, 2]))
    config = config_for(tmp_path, bureau)
    assert main(["poll", "--once", str(config)]) == 0
    before = snapshot(tmp_path)
    bureau.add("/list/", list_page([1, 2]).replace("<body>", "<body><p>访问量：12345</p>"))
    articles_read = len(bureau.hits("/art/1.html"))
    assert main(["poll", "--once", str(config)]) == 0
    assert len(bureau.hits("/art/1.html")) == articles_read
    assert snapshot(tmp_path) == before
    with open_store(tmp_path / "store.json") as store:
        state = store.state("bureau")
    assert state.consecutive_failures == 0 and state.last_error is None


def test_a_list_that_gains_a_row_leaves_known_items_as_their_articles_made_them(tmp_path: Path, bureau: Site) -> None:
    bureau.add("/list/", list_page([1, 2]))
    config = config_for(tmp_path, bureau)
    assert main(["poll", "--once", str(config)]) == 0
    before = snapshot(tmp_path)
    assert before["1.html"][0] == "第1号执法通报关于某企业超标排放的处罚决定全文"  # the article's full title
    assert before["1.html"][2] == "浙江省生态环境厅" and "罚款十万元" in before["1.html"][3]
    assert before["1.html"][4] == ("enforcement",)  # from a body rule

    bureau.add("/list/", list_page([3, 1, 2]))
    assert main(["poll", "--once", str(config)]) == 0
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before  # nothing overwritten by the bare list rows
    assert len(after) == 3
    # Each article page was read once, when its row was new.
    assert [len(bureau.hits(f"/art/{n}.html")) for n in (1, 2, 3)] == [1, 1, 1]


def test_a_row_whose_listing_changes_is_read_again(tmp_path: Path, bureau: Site) -> None:
    bureau.add("/list/", list_page([1]))
    config = config_for(tmp_path, bureau)
    assert main(["poll", "--once", str(config)]) == 0
    bureau.add("/list/", list_page([1]).replace("第1号执法通报", "第1号执法通报（更正）"))
    assert main(["poll", "--once", str(config)]) == 0
    assert len(bureau.hits("/art/1.html")) == 2
    assert len(snapshot(tmp_path)) == 1


def test_rows_beyond_the_article_cap_wait_for_the_next_poll(
    tmp_path: Path, bureau: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enrich, "MAX_ARTICLES_PER_POLL", 3)
    bureau.add("/list/", list_page([1, 2, 3, 4, 5, 6, 7]), headers={"ETag": '"same"'})
    config = config_for(tmp_path, bureau)
    counts = []
    for _ in range(3):
        assert main(["poll", "--once", str(config)]) == 0
        stored = snapshot(tmp_path)
        counts.append(len(stored))
        # Never an item without the body its article page gives.
        assert all(content and "罚款十万元" in content for _, _, _, content, _, _ in stored.values())
    assert counts == [3, 6, 7]


def test_a_flaky_article_waits_and_a_missing_one_keeps_its_list_data(tmp_path: Path, bureau: Site) -> None:
    bureau.add("/art/1.html", b"busy", status=503)
    bureau.add("/art/2.html", b"gone", status=404)
    bureau.add("/art/4.html", b"slow down", status=429)  # a 4xx, but "come back later", even without Retry-After
    bureau.add("/list/", list_page([1, 2, 3, 4]))
    config = config_for(tmp_path, bureau)
    assert main(["poll", "--once", str(config)]) == 0
    assert sorted(snapshot(tmp_path)) == ["2.html", "3.html"]
    assert snapshot(tmp_path)["2.html"][3] is None  # kept with the list's data
    bureau.add("/art/1.html", article)
    bureau.add("/art/4.html", article)
    assert main(["poll", "--once", str(config)]) == 0
    assert "罚款十万元" in snapshot(tmp_path)["1.html"][3]
    assert "罚款十万元" in snapshot(tmp_path)["4.html"][3]


def test_relative_dates_do_not_turn_into_edits(tmp_path: Path, bureau: Site) -> None:
    bureau.add("/list/", list_page([5], relative=True))
    config = config_for(tmp_path, bureau)
    text = config.read_text(encoding="utf-8").replace("fetch_articles = true", "fetch_articles = false")
    config.write_text(text, encoding="utf-8")
    assert main(["poll", "--once", str(config)]) == 0
    first = snapshot(tmp_path)
    bureau.add("/list/", list_page([5], relative=True) + "<!-- page changed elsewhere -->")
    assert main(["poll", "--once", str(config)]) == 0
    assert snapshot(tmp_path) == first


def test_a_broken_older_page_does_not_break_the_source(tmp_path: Path, site: Site) -> None:
    rows = "".join(f'<li><a href="/n/{n}.html">第{n}条生态环境新闻标题</a><span>2024-05-0{n}</span></li>' for n in range(1, 4))
    site.add("/list/", f'<html><body><ul class="list">{rows}</ul><script>createPageHTML(10, 0, "index", "html");</script></body></html>')
    site.add("/list/index_1.html", f'<html><body><ul class="list">{rows.replace("/n/", "/m/")}</ul></body></html>')
    # index_2.html is missing (404): backfill stops there, the poll still succeeds.
    config = write_config(
        tmp_path,
        f"""
[[sources]]
name = "trs"
url = "{site.url('/list/')}"
kind = "html"
fetch_articles = false
backfill_pages = 3
[sources.list]
item = "ul.list li"
date = "span"
""",
    )
    assert main(["poll", "--once", str(config)]) == 0
    assert len(snapshot(tmp_path)) == 6
    assert site.hits("/list/index_2.html")


def test_backfilled_rows_past_the_article_cap_are_all_stored_eventually(
    tmp_path: Path, bureau: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enrich, "MAX_ARTICLES_PER_POLL", 3)
    for n in range(8, 12):
        bureau.add(f"/art/{n}.html", article)
    pager = '<script>createPageHTML(2, 0, "index", "html");</script>'
    bureau.add("/list/", list_page([1, 2, 3, 4, 5]).replace("</body>", pager + "</body>"))
    bureau.add("/list/index_1.html", list_page([7, 8, 9, 10, 11]))
    config = config_for(tmp_path, bureau, "backfill_pages = 1")
    counts = []
    for _ in range(4):
        assert main(["poll", "--once", str(config)]) == 0
        counts.append(len(snapshot(tmp_path)))
    assert counts == [3, 6, 9, 10]
    assert all("罚款十万元" in content for _, _, _, content, _, _ in snapshot(tmp_path).values())
