"""The catalog: every shipped entry expands to a valid source; config takes entries and presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator import catalog
from aggregator.catalog import CatalogError, load_file
from aggregator.catalog.presets import PRESETS
from aggregator.config import ConfigError, Source, load_config, parse_config

from .conftest import write_config

REPO = Path(__file__).parent.parent


def test_every_entry_expands_to_a_valid_source() -> None:
    entries = catalog.entries()
    assert len(entries) > 100
    for entry in entries:
        source = Source.model_validate(entry.template())
        assert source.url == entry.url
        assert source.catalog is None  # the template alone; a config adds where it came from
        assert entry.evidence_source.strip(), entry.id
        assert entry.verified == "unverified" or entry.checked_against, f"{entry.id}: a checked entry says against what"
        assert not entry.needs_browser or entry.why, entry.id
        assert entry.authority and entry.province and entry.column, entry.id


def test_ids_and_source_names_are_unique() -> None:
    ids = [e.id for e in catalog.entries()]
    assert len(ids) == len(set(ids))
    names = [catalog.source_name(i) for i in ids]
    assert len(names) == len(set(names))


def test_the_catalog_covers_the_ministry_and_every_province() -> None:
    entries = catalog.entries()
    provinces = {e.province for e in entries if e.authority.endswith(("厅", "局")) and e.province != "国家"}
    assert len({e.province for e in entries if e.file not in ("mee.toml", "nnsa.toml")}) == 31
    assert len(provinces) == 31
    ids = {e.id for e in entries}
    for needed in ("mee/ywdt", "mee/ywdt/hjywnews", "mee/ywdt/dfnews", "mee/ywdt/xwfb", "mee/ywdt/gsgg",
                   "mee/ywgz/sthjzf/zfzdyxzcf", "mee/ywgz/zysthjbhdc/dcjz", "mee/zcwj", "nnsa/ywdt/bgt",
                   "zj/sthjt/news", "zj/sthjt/zfjg"):
        assert needed in ids
    # A news (ecology) column for every province.
    with_news = {e.province for e in entries if "ecology" in e.categories and e.file not in ("mee.toml", "nnsa.toml")}
    assert len(with_news) == 31


def test_every_entry_is_the_source_a_config_gets(tmp_path: Path) -> None:
    categories = "\n".join(f"[categories.{slug}]\ntitle = \"{title}\"" for slug, title in catalog.CATEGORY_TITLES.items())
    tables = "\n".join(f'[[sources]]\ncatalog = "{e.id}"' for e in catalog.entries())
    config = load_config(write_config(tmp_path, categories + "\n" + tables))
    assert len(config.sources) == len(catalog.entries())
    first = config.source("zj-sthjt-zfjg")
    assert first.catalog == "zj/sthjt/zfjg" and first.preset == "hanweb"
    assert first.list_selectors is not None and first.list_selectors.title == "a@title"
    assert first.categories == ["enforcement"]


def test_overrides_beside_an_entry_win(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, """
[categories.ecology]
title = "生态"
[categories.zj]
title = "浙江"

[[sources]]
catalog = "zj/sthjt/news"
name = "zhejiang"
interval = "2h"
categories = ["zj"]
drop = { include = ["招聘"] }
list = { date = "span.date" }
"""))
    source = config.source("zhejiang")
    assert source.interval == 7200 and source.categories == ["zj"]
    assert source.drop is not None and source.drop.include == ["招聘"]
    # Sub-tables merge key by key: the preset's item and title stay.
    assert source.list_selectors is not None
    assert (source.list_selectors.item, source.list_selectors.title, source.list_selectors.date) == ("li", "a@title", "span.date")


def test_suggested_categories_the_config_lacks_are_left_out(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, """
[categories.enforcement]
title = "执法"

[[sources]]
catalog = "mee/ywgz/zysthjbhdc/dcjz"
"""))
    assert config.sources[0].categories == ["enforcement"]  # "inspection" is not defined here


def test_a_preset_and_a_url_are_a_source(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, """
[[sources]]
name = "some-trs-column"
preset = "trs"
url = "https://sthjt.example.gov.cn/xwzx/"
"""))
    source = config.sources[0]
    assert source.kind == "html" and source.preset == "trs" and source.fetch_articles is True
    assert source.list_selectors == Source.model_validate({"name": "x", "url": "https://a.cn/", **PRESETS["trs"]}).list_selectors


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('catalog = "zj/sthjt/newz"', "no catalog entry 'zj/sthjt/newz'; did you mean zj/sthjt/news"),
        ('name = "x"\npreset = "wordpress"\nurl = "https://a.cn/"', "unknown preset 'wordpress'; known: hanweb"),
        ('catalog = "zj/sthjt/news"\npreset = "trs"', "give `catalog` or `preset`, not both"),
        ('catalog = "zj/sthjt/news"\nlist = { item = "li[" }', "is not valid CSS"),
    ],
)
def test_bad_catalog_lines_are_named(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, f"[[sources]]\n{table}\n"))
    text = str(caught.value)
    assert message in text
    assert "config.toml:" in text and "sources[0]" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n', "needs [evidence]"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n'
         'evidence = { kind = "none", source = "s", verified = "yes" }\n', "evidence.verified must be"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\nneeds_browser = true\n'
         'evidence = { kind = "none", source = "s", verified = "unverified" }\n', "needs `why`"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n'
         'evidence = { kind = "hearsay", source = "s", verified = "unverified" }\n',
         "bad.toml: entry 'a/b': unknown evidence kind 'hearsay'; kinds: capture, live-check, public-scraper, stored-page, none"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n'
         'evidence = { source = "s", verified = "unverified" }\n', "bad.toml: entry 'a/b': evidence.kind is missing"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n'
         'evidence = { kind = "public-scraper", source = "s", verified = "unverified" }\n', "needs `date`"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n'
         'evidence = { kind = "live-check", source = "s", date = "2026", verified = "unverified" }\n', "a live check has a day"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\n'
         'evidence = { kind = "capture", source = "s", date = "2026-12-01", verified = "unverified" }\n', "names the captured file"),
        ('province = "y"\n', "needs `authority`"),
    ],
)
def test_a_broken_data_file_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match="bad.toml"):
        load_file("bad.toml", text)
    with pytest.raises(CatalogError) as caught:
        load_file("bad.toml", text)
    assert message in str(caught.value)


def test_the_data_files_ship_with_the_package() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"catalog/*.toml"' in pyproject
    files = sorted(p.name for p in (REPO / "aggregator" / "catalog").glob("*.toml"))
    assert {e.file for e in catalog.entries()} == set(files)


def test_the_example_config_loads() -> None:
    parse_config((REPO / "config" / "example.toml").read_text(encoding="utf-8"), REPO / "config" / "example.toml")


# --- the catalog commands ----------------------------------------------------------------------------

from aggregator.cli import main  # noqa: E402

COMMENTED = """# My subscriptions.  (a comment at the top)
[settings]
store = "store.json"   # beside this file
output_dir = "feeds"

[serve]
enabled = false

# --- categories ---
[categories.enforcement]
title = "执法"   # the one I read every morning
rules = { include = ["处罚"] }

# --- sources ---
[[sources]]
# a hand-written one
name = "mine"
url = "https://example.org/news/"
categories = ["enforcement"]
"""


def test_add_keeps_every_comment_and_check_accepts_the_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    assert main(["catalog", "add", "zj/sthjt/news", "mee/ywgz/zysthjbhdc/dcjz", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "added zj/sthjt/news" in out and "added categories: ecology, inspection" in out
    text = path.read_text(encoding="utf-8")
    assert text.startswith(COMMENTED)  # not a byte of the file changed, only appended
    assert 'catalog = "zj/sthjt/news"' in text and "# 浙江省生态环境厅 · 新闻 (unverified)" in text
    assert main(["check", str(path)]) == 0
    check = capsys.readouterr().out
    assert "zj-sthjt-news" in check and "catalog zj/sthjt/news (preset hanweb): kind html, list li | a@title | a@href | span" in check
    # Whom its entries are credited to, and the column name a redesign is followed by.
    assert "backfill 2 pages, credited to 浙江省生态环境厅, column 新闻" in check
    config = load_config(path)
    assert config.source("mee-ywgz-zysthjbhdc-dcjz").categories == ["inspection", "enforcement"]
    assert config.categories["inspection"].title == "生态环境保护督察"

    # Adding again changes nothing.
    assert main(["catalog", "add", "zj/sthjt/news", "--config", str(path)]) == 0
    assert "already in the config: zj/sthjt/news" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == text


def test_add_refuses_what_would_not_load_and_leaves_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    assert main(["catalog", "add", "zj/sthjt/nwes", "--config", str(path)]) == 2
    assert "no catalog entry 'zj/sthjt/nwes'" in capsys.readouterr().err
    # Categories written as one inline table cannot be extended by a [categories.ecology] table.
    inline = 'categories = { enforcement = { title = "执法" } }\n' + COMMENTED.replace(
        '[categories.enforcement]\ntitle = "执法"   # the one I read every morning\nrules = { include = ["处罚"] }', "")
    path.write_text(inline, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    capsys.readouterr()
    assert main(["catalog", "add", "zj/sthjt/news", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not changed; with the entries added it would not load" in err and "not valid TOML" in err
    assert path.read_text(encoding="utf-8") == inline


def test_list_filters_and_shows_browser_and_verification(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list", "--province", "湖北", "--category", "enforcement"]) == 0
    out = capsys.readouterr().out
    header, rule, *rows = out.strip().splitlines()[:-2]
    assert header.split() == ["id", "authority", "column", "kind", "needs-browser", "evidence", "verified"]
    assert [r.split()[0] for r in rows] == ["hb/sthjt/xzcfjd"]
    assert rows[0].split()[1:] == ["湖北省生态环境厅", "行政处罚决定", "html", "(trs)", "yes", "public-scraper", "unverified"]
    assert "1 entries (1 need the browser)" in out

    assert main(["catalog", "list", "--search", "col1202652", "--json"]) == 0
    (found,) = __import__("json").loads(capsys.readouterr().out)
    # Once "saved page 2026-12-01" against pages written for the tests: not evidence, so no longer verified.
    assert found["id"] == "zj/sthjt/zfjg" and found["verified"] == "unverified"
    assert found["url"] == "https://sthjt.zj.gov.cn/col/col1202652/index.html"
    assert (found["evidence_kind"], found["evidence_date"]) == ("stored-page", "2023-11")
    assert "art_1202652_58938545" in found["evidence"] and "1229116" in found["note"]

    assert main(["catalog", "list", "--province", "火星"]) == 1


def test_show_prints_toml_a_config_can_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "show", "hb/sthjt/hbyw"]) == 0
    shown = capsys.readouterr().out
    assert "# needs a browser: 瑞数 dynamic cookie" in shown
    assert "# evidence: none beyond the first lead: public crawler code (a nationwide environment-news scraper)" in shown
    assert "# verified: unverified (a first lead from public sources: not yet checked against the site)" in shown
    assert 'render = "auto"' in shown  # a cookie challenge: the browser only when a plain fetch is blocked
    config = load_config(write_config(tmp_path, "[categories.ecology]\ntitle = \"e\"\n" + shown))
    (source,) = config.sources
    assert source.catalog is None and source.warmup == "https://sthjt.hubei.gov.cn/"
    # The whole of what `catalog = "…"` stands for, the name its entries are credited to included.
    assert source.authority == "湖北省生态环境厅"
    chosen = catalog.entry("hb/sthjt/hbyw")
    assert source == Source.model_validate({**chosen.template(), "authority": catalog.authority_label(chosen)})


def test_a_table_pasted_from_show_keeps_the_authority_and_column_a_catalog_source_gets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A city bureau: its entries name the province too, as a `catalog = "…"` source's do.
    assert main(["catalog", "show", "fj/fuzhou/sgszl"]) == 0
    shown = capsys.readouterr().out
    assert 'authority = "福州市生态环境局（福建）"' in shown
    pasted = load_config(write_config(tmp_path, '[categories.enforcement]\ntitle = "执法"\n' + shown)).sources[0]
    by_catalog = parse_config('[[sources]]\ncatalog = "fj/fuzhou/sgszl"\n').sources[0]
    assert pasted.catalog is None and by_catalog.catalog == "fj/fuzhou/sgszl"
    assert (pasted.authority, pasted.column) == (by_catalog.authority, by_catalog.column)
    assert pasted.authority == "福州市生态环境局（福建）" and pasted.column
    # A table's own authority still wins over the entry's.
    renamed = parse_config('[[sources]]\ncatalog = "fj/fuzhou/sgszl"\nauthority = "福州市生态环境局"\n').sources[0]
    assert renamed.authority == "福州市生态环境局"


def test_add_creates_a_config_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "feeds.toml"
    assert main(["catalog", "add", "zj/sthjt/news", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path} did not exist: created it" in out and "added zj/sthjt/news" in out
    assert main(["check", str(path)]) == 0
    assert "zj-sthjt-news" in capsys.readouterr().out
    config = load_config(path)
    assert config.source("zj-sthjt-news").categories == ["ecology"]
    assert config.store_path == tmp_path / "store.json"

    # A directory that is not there is named, and nothing is created.
    missing = tmp_path / "nowhere" / "feeds.toml"
    assert main(["catalog", "add", "zj/sthjt/news", "--config", str(missing)]) == 2
    assert "no directory" in capsys.readouterr().err and not missing.parent.exists()


def test_no_entry_cites_a_file_a_user_does_not_have(capsys: pytest.CaptureFixture[str]) -> None:
    # Entries once cited an evidence file kept outside the repository; what they cite must be public or shipped.
    for entry in catalog.entries():
        for text in (entry.evidence_source, entry.why, entry.note):
            assert "EVIDENCE" not in text and "§" not in text and "/work/" not in text, (entry.id, text)
        if entry.checked_against:
            first, *rest = [p.strip() for p in entry.checked_against.split(",")]
            folder = (REPO / first).parent
            assert (REPO / first).is_file(), (entry.id, first)
            assert all((folder / name).is_file() for name in rest), (entry.id, rest)
    assert main(["catalog", "list", "--json"]) == 0
    assert "EVIDENCE" not in capsys.readouterr().out


def test_check_says_which_sources_post_a_form_or_need_the_browser(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    assert main(["catalog", "add", "sh/sthj/xzcf", "gd/gdee/xzcf", "--config", str(path)]) == 0
    capsys.readouterr()
    assert main(["check", str(path)]) == 0
    check = capsys.readouterr().out
    assert "catalog sh/sthj/xzcf: kind html, list div.bd > ul > li | a@href, list asked by POST with a form," in check
    assert "credited to 上海市生态环境局, column 行政处罚" in check
    assert "render true (needs the browser)" in check.split("catalog gd/gdee/xzcf")[1].splitlines()[0]
