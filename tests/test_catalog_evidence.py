"""What supports each catalog entry, the enforcement columns across the provinces, and the new list shapes.

The catalog was audited against public evidence in 2026-12 (../shared/catalog/ beside the
repository, when it is there). These tests hold the catalog to it: every entry says what
kind of evidence it has, no entry the audit contradicts is left as it was without saying
why, and `catalog list --category enforcement` reaches at least 24 provinces. The list
shapes the new enforcement entries rely on (a JSON list answered to a form POST, table
rows, bare links with a title filter) are polled from loopback sites into real TinyDB
stores and Atom feeds. The pages served here are written for the tests: they test shapes,
and are never evidence for an entry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest

from aggregator import catalog
from aggregator.catalog import EVIDENCE_KINDS
from aggregator.catalog.edit import show
from aggregator.cli import main

from .conftest import Request, Response, Site, write_config

REPO = Path(__file__).parent.parent
AUDIT = REPO.parent / "shared" / "catalog" / "audit-2026-12.json"
CATEGORIES = '[categories.enforcement]\ntitle = "执法"\n'


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_enforcement_columns_reach_24_provinces_from_the_command_line() -> None:
    listed = cli("catalog", "list", "--category", "enforcement", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    provinces = {r["province"] for r in rows} - {"国家"}
    assert len(provinces) >= 24, sorted(provinces)
    assert all("enforcement" in r["categories"] and r["evidence_kind"] in EVIDENCE_KINDS for r in rows)
    # The table a user reads names the new columns and says what supports each.
    table = cli("catalog", "list", "--category", "enforcement")
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert header == ["id", "authority", "column", "kind", "needs-browser", "evidence", "verified"]
    lines = {line.split()[0]: line.split() for line in table.stdout.splitlines()[2:] if line.strip() and "/" in line.split()[0]}
    assert lines["tj/sthj/xzcf"][-2:] == ["public-scraper", "unverified"]
    assert lines["fj/putian/xzcf"][-2:] == ["stored-page", "unverified"]
    assert lines["sd/sdein/xzcf"][-2:] == ["live-check", "unverified"]
    assert f"{len(rows)} entries" in table.stdout


def test_every_entry_says_what_supports_it() -> None:
    for entry in catalog.entries():
        assert entry.evidence_kind in EVIDENCE_KINDS, entry.id
        assert entry.evidence_source.strip(), entry.id
        if entry.evidence_kind != "none":
            assert entry.evidence_date, f"{entry.id}: evidence of kind {entry.evidence_kind} is dated"
        # A page written for the tests is never evidence: only a capture names a file, and it is kept with its provenance.
        assert (entry.evidence_kind == "capture") == bool(entry.checked_against), entry.id
        assert "tests/fixtures/sites" not in entry.checked_against, entry.id
        assert not entry.verified.startswith("saved page") or entry.evidence_kind == "capture", entry.id
    kinds = {e.evidence_kind for e in catalog.entries()}
    assert {"public-scraper", "stored-page", "live-check", "none"} <= kinds


def test_show_prints_the_whole_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "show", "sd/sdein/xzcf"]) == 0
    shown = capsys.readouterr().out
    assert "# evidence: live-check (live, 2026-10-03): idx:71424878645 2026-10-03: 200, static list" in shown
    assert "# verified: unverified" in shown
    assert main(["catalog", "show", "zj/sthjt/zfjg"]) == 0
    shown = capsys.readouterr().out
    assert "# evidence: stored-page (independent, 2023-11): a stored repost" in shown
    assert "art_1202652_58938545" in shown and "# note: was col1229116" in shown
    assert 'url = "https://sthjt.zj.gov.cn/col/col1202652/index.html"' in shown


@pytest.mark.skipif(not AUDIT.is_file(), reason="the 2026-12 audit (../shared/catalog/) is not beside this checkout")
def test_no_entry_the_audit_contradicts_is_left_as_it_was_without_a_note() -> None:
    records = json.loads(AUDIT.read_text(encoding="utf-8"))
    contradicted = [r for r in records if r.get("verdict") == "contradicted"]
    assert len(contradicted) == 14
    by_id = {e.id: e for e in catalog.entries()}
    data_files = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "aggregator" / "catalog").glob("*.toml"))
    notes = " ".join(e.note for e in catalog.entries())
    for record in contradicted:
        entry = by_id.get(record["catalog_id"])
        if entry is None:
            # Removed (a comment in its data file says why) or renamed (the new entry's note names the old id).
            assert f"Removed: {record['catalog_id']}" in data_files or record["catalog_id"].rsplit("/", 1)[-1] in notes, record
            continue
        assert entry.note, f"{entry.id}: contradicted by the audit ({record['finding'][:80]}…) and says nothing"
        assert entry.evidence_kind != "none", entry.id  # the audit's evidence is now the entry's
    # The fixes the audit spells out.
    assert by_id["hb/sthjt/xzcfjd"].url.endswith("/xzcfjd/index.shtml")
    assert by_id["nnsa/zcwj/gwyygwj"].url == "https://nnsa.mee.gov.cn/zcwj/gwyygwj/"
    assert by_id["mee/ywgz/zysthjbhdc/dcjl"].column.startswith("督察动态")
    assert "col1202652" in by_id["zj/sthjt/zfjg"].url
    assert "mee/ywdt/bgt/xzcf" not in by_id and "xz/sthjt/xwzx" not in by_id
    for entry_id in ("nx/sthjt/qnxw", "nx/sthjt/gsgg", "nx/sthjt/bzgf"):
        assert by_id[entry_id].template()["list"]["item"].startswith("table#dataListSearch"), entry_id
    assert by_id["gd/gdee/gkmlpt-3155"].template()["json"]["date"] == "create_time"


# --- the new list shapes, polled from loopback sites ------------------------------------------------


def poll(tmp_path: Path, body: str) -> feedparser.FeedParserDict:
    config = write_config(tmp_path, CATEGORIES + body)
    assert main(["poll", str(config), "--once"]) == 0
    parsed = feedparser.parse((tmp_path / "feeds" / "enforcement.atom").read_bytes())
    assert parsed.bozo == 0
    return parsed


def decision_page(title: str, body_id: str, date: str) -> bytes:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<meta name="PubDate" content="{date}"></head><body><div class="nav"><a href="/">首页</a></div>
<h2 id="XWXQTitle">{title}</h2><div id="{body_id}"><p>当事人：某某化工有限公司。统一社会信用代码：91640000000000000X。</p>
<p>一、环境违法事实和证据：未按规定贮存危险废物。二、行政处罚的依据、种类：罚款人民币35.6万元。</p></div></body></html>""".encode()


def test_ningxia_decisions_come_from_a_json_list_answered_to_a_form_post(site: Site, tmp_path: Path) -> None:
    rows = {
        1: [("宁夏回族自治区生态环境厅行政处罚决定书（宁环罚〔2026〕3号）", "2026/a3.html"),
            ("全区生态环境执法工作会议召开", "2026/news1.html"),
            ("宁夏回族自治区生态环境厅行政处罚决定书（宁环罚〔2026〕2号）", "2026/a2.html")],
        2: [("宁夏回族自治区生态环境厅行政处罚决定书（宁环罚〔2026〕1号）", "2026/a1.html")],
    }

    def api(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        if request.method != "POST" or form.get("catagory") != "180":
            return Response(b'{"code": 1, "msg": "bad request"}', content_type="application/json")
        page = rows.get(int(form["pageNum"]), [])
        answer = {"code": 0, "data": {"list": [{"title": t, "newsHtmlUrl": u} for t, u in page]}}
        return Response(json.dumps(answer, ensure_ascii=False).encode(), content_type="application/json")

    site.add("/portal/news/getReleasedNewsListByCatagory.do", api)
    for n, day in ((3, "2026-03-03"), (2, "2026-02-02"), (1, "2026-01-01")):
        site.add(f"/page/2026/a{n}.html", decision_page(f"宁夏回族自治区生态环境厅行政处罚决定书（宁环罚〔2026〕{n}号）", "XWXQContent", day))
    site.add("/page/2026/news1.html", decision_page("全区生态环境执法工作会议召开", "XWXQContent", "2026-03-04"))

    parsed = poll(tmp_path, f"""
[[sources]]
catalog = "nx/sthjt/xzcfjds"
url = "{site.url('/portal/news/getReleasedNewsListByCatagory.do')}"
""")
    titles = sorted(e.title for e in parsed.entries)
    # Only the decisions (the entry's title filter), from the first page and the backfilled second.
    assert titles == [f"宁夏回族自治区生态环境厅行政处罚决定书（宁环罚〔2026〕{n}号）" for n in (1, 2, 3)]
    assert all(e.link.startswith(site.url("/page/2026/a")) for e in parsed.entries)
    assert all("罚款人民币35.6万元" in e.content[0].value for e in parsed.entries)
    posts = [parse_qs(r.body.decode()) for r in site.hits("/portal/news/getReleasedNewsListByCatagory.do")]
    assert all(r.method == "POST" for r in site.hits("/portal/news/getReleasedNewsListByCatagory.do"))
    assert {p["pageNum"][0] for p in posts} >= {"1", "2"} and all(p["catagory"] == ["180"] for p in posts)


def test_ningxia_columns_are_read_from_table_rows(site: Site, tmp_path: Path) -> None:
    rows = "".join(
        f'<tr><td>{n}</td><td class="text-left"><a href="./202603/t2026030{n}_{n}.html">关于第{n}批执法检查情况的通报</a></td><td>2026-03-0{n}</td></tr>'
        for n in (1, 2, 3)
    )
    site.add("/zwgk/sthjzf/zfjc/", f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>执法检查</title></head><body>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/xwzx/">新闻中心</a></li></ul>
<table id="dataListSearch"><tr><th>序号</th><th>标题</th><th>日期</th></tr>{rows}</table></body></html>""")
    for n in (1, 2, 3):
        page = decision_page(f"关于第{n}批执法检查情况的通报", "x", f"2026-03-0{n}").replace(b'id="x"', b'class="TRS_UEDITOR"')
        site.add(f"/zwgk/sthjzf/zfjc/202603/t2026030{n}_{n}.html", page)
    parsed = poll(tmp_path, f"""
[[sources]]
catalog = "nx/sthjt/zfjc"
url = "{site.url('/zwgk/sthjzf/zfjc/')}"
""")
    assert sorted(e.title for e in parsed.entries) == [f"关于第{n}批执法检查情况的通报" for n in (1, 2, 3)]
    newest = max(parsed.entries, key=lambda e: e.published_parsed)
    # 2026-03-03 (the list's date cell and the page agree) in Beijing is 16:00 UTC the day before.
    assert newest.title == "关于第3批执法检查情况的通报" and newest.published_parsed[:4] == (2026, 3, 2, 16)
    assert all("未按规定贮存危险废物" in e.content[0].value for e in parsed.entries)


def test_tianjin_keeps_only_the_decisions_among_the_column_links(site: Site, tmp_path: Path) -> None:
    base = "/ZWGK4828/ZFXXGK8438/FDZDGK27/XZCFQZXZCFXX7581/"
    links = [("./202603/t20260302_2.html", "天津某某公司津市环罚字〔2026〕2号"),
             ("./202603/t20260301_1.html", "行政处罚决定书〔2026〕1号"),
             ("./index_1.html", "下一页")]
    anchors = "".join(f'<p><a href="{href}">{text}</a></p>' for href, text in links)
    site.add(base + "index.html", f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>行政处罚</title></head>
<body><div class="xl-right-content">{anchors}</div></body></html>""")
    for n, (href, text) in enumerate(links[:2]):
        site.add(base + href[2:], decision_page(text, "zoom", f"2026-03-0{2 - n}"))
    parsed = poll(tmp_path, f"""
[[sources]]
catalog = "tj/sthj/xzcf"
url = "{site.url(base + 'index.html')}"
backfill_pages = 0
""")
    assert sorted(e.title for e in parsed.entries) == sorted(text for _, text in links[:2])
    assert all("35.6万元" in e.content[0].value for e in parsed.entries)


def test_the_readme_counts_the_evidence_as_the_catalog_has_it() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    counts: dict[str, int] = {}
    for entry in catalog.entries():
        counts[entry.evidence_kind] = counts.get(entry.evidence_kind, 0) + 1
    for kind in EVIDENCE_KINDS:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{kind}` |"))
        assert row.rstrip(" |").rsplit("|", 1)[-1].strip() == str(counts.get(kind, 0)), row
    assert f"ready-made sources for {len(catalog.entries())} columns" in readme


# --- a capture names its file and where the bytes came from ------------------------------------------

CAPTURE_FILE = """authority = "某某省生态环境厅"
province = "某某"

[[entries]]
id = "xx/sthjt/news"
column = "工作动态"
url = "https://sthjt.example.gov.cn/news/"
preset = "trs"
evidence = {{ kind = "capture", source = "a spider's saved page", date = "2025-11", verified = "unverified"{extra} }}
"""
PROVENANCE = {
    "checked_against": "tests/fixtures/catalog/xx-sthjt-news/list.html",
    "repository": "someone/spiders",
    "path": "crawler/debug_page.html",
    "commit": "9efa6dbfd1cf9332a3fee5c23b085f9a23cb3a06",
    "sha256": "6ebdcc8312b814ecbcc6f80d35be315b1e488db787438859dffef6d699ce741f",
}


def capture_file(**changes: str | None) -> str:
    keys = {**PROVENANCE, **changes}
    extra = "".join(f', {key} = "{value}"' for key, value in keys.items() if value is not None)
    return CAPTURE_FILE.format(extra=extra)


def test_a_capture_keeps_its_provenance_on_the_entry() -> None:
    [loaded] = catalog.load_file("xx.toml", capture_file())
    assert loaded.evidence_kind == "capture"
    assert loaded.checked_against == PROVENANCE["checked_against"]
    assert loaded.capture == {k: PROVENANCE[k] for k in ("repository", "path", "commit", "sha256")}


def test_catalog_show_names_where_a_capture_came_from() -> None:
    [loaded] = catalog.load_file("xx.toml", capture_file())
    shown = show(loaded)
    assert f"# verified: unverified against {PROVENANCE['checked_against']}" in shown
    assert (
        "# capture taken from: repository someone/spiders, path crawler/debug_page.html,"
        f" commit {PROVENANCE['commit']}, sha256 {PROVENANCE['sha256']}"
    ) in shown
    # Evidence of another kind has no capture to name.
    assert "capture taken from" not in show(catalog.entry("hb/sthjt/hbyw"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"checked_against": None}, "names the captured file in `checked_against`"),
        ({"checked_against": "tests/fixtures/sites/mee/index.html"}, "must be a file under tests/fixtures/catalog/"),
        ({"checked_against": "tests/fixtures/catalog/../sites/mee/index.html"}, "must be a file under tests/fixtures/catalog/"),
        ({"repository": None}, "needs `repository` (owner/name"),
        ({"repository": "https://github.com/someone/spiders"}, "evidence.repository must be owner/name"),
        ({"path": None}, "needs `path`"),
        ({"commit": "9efa6dbf"}, "evidence.commit must be the 40 hex digits"),
        ({"commit": None}, "needs `commit`"),
        ({"sha256": "6EBDCC83"}, "evidence.sha256 must be the 64 hex digits"),
    ],
)
def test_a_capture_without_whole_provenance_is_refused_naming_the_key(change: dict[str, str | None], message: str) -> None:
    with pytest.raises(catalog.CatalogError) as raised:
        catalog.load_file("xx.toml", capture_file(**change))
    assert str(raised.value).startswith("xx.toml: entry 'xx/sthjt/news': ")
    assert message in str(raised.value)


def test_provenance_keys_belong_to_a_capture_only() -> None:
    text = capture_file().replace('kind = "capture"', 'kind = "stored-page"')
    with pytest.raises(catalog.CatalogError, match=r"checked_against, commit, path, repository, sha256 belong to evidence of kind 'capture' only"):
        catalog.load_file("xx.toml", text)
