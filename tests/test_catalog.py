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
         'evidence = { source = "s", verified = "yes" }\n', "evidence.verified must be"),
        ('authority = "x"\nprovince = "y"\n[[entries]]\nid = "a/b"\ncolumn = "c"\nurl = "https://a.cn/"\nneeds_browser = true\n'
         'evidence = { source = "s", verified = "unverified" }\n', "needs `why`"),
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
