"""`catalog add` with filters: one command line subscribes to a whole category, province or search.

What a user sees: the config gains one `catalog = ID` source per matching entry (the
same entries `catalog list` shows for the same filters), keeps every byte it had, and
loads; the command says how many per province and which feed to read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator import catalog
from aggregator.catalog.edit import select
from aggregator.cli import main
from aggregator.config import load_config

MINE = """# My subscriptions.   (kept as written)
[settings]
store = "store.json"
output_dir = "feeds"
base_url = "https://feeds.example.org/"

[serve]
enabled = false

[categories.enforcement]
title = "执法"   # my own title stays
rules = { include = ["处罚"] }

[[sources]]
# one I had before
catalog = "zj/sthjt/zfjg"
interval = "1h"
"""


# An entry that needs the browser, found by a search that matches nothing else (whatever the catalog holds then).
BROWSER_ONLY = next(
    e.id for e in catalog.entries()
    if e.needs_browser and all(m.needs_browser for m in select(search=e.id))
)


def listed(capsys: pytest.CaptureFixture[str], *filters: str) -> list[str]:
    assert main(["catalog", "list", *filters, "--json"]) == 0
    return [e["id"] for e in json.loads(capsys.readouterr().out)]


def catalog_ids(path: Path) -> list[str]:
    return [s.catalog for s in load_config(path).sources if s.catalog]


def test_the_whole_enforcement_category_in_a_new_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = listed(capsys, "--category", "enforcement")
    assert len(expected) > 30  # the nationwide set, not a sample
    path = tmp_path / "enforcement.toml"
    assert main(["catalog", "add", "--category", "enforcement", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert catalog_ids(path) == expected
    assert f"{path}: OK ({len(expected)} source(s) added)" in out
    # Per province, most first: the ministry's columns lead.
    per_province = next(line for line in out.splitlines() if line.startswith("added per province"))
    national = sum(e.province == "国家" for e in map(catalog.entry, expected))
    assert per_province.split(": ", 1)[1].startswith(f"国家 {national}, ")
    provinces = {catalog.entry(i).province for i in expected}
    assert per_province.startswith(f"added per province ({len(provinces)}): ")
    # The feed to read, where it is written and where `run` serves it.
    assert f"feed: {tmp_path / 'feeds' / 'enforcement.atom'}  (served as http://127.0.0.1:8080/enforcement.atom" in out
    # Entries that need the browser are added and named as such.
    browser = [i for i in expected if catalog.entry(i).needs_browser]
    assert browser and all(f"added {i} (needs the browser: " in out for i in browser)
    assert f"{len(browser)} of them need the browser" in out
    assert main(["check", str(path)]) == 0
    check = capsys.readouterr().out
    assert all(catalog.source_name(i) in check for i in expected)
    text = path.read_text(encoding="utf-8")
    assert f"# Added by `aggregator catalog add --category enforcement` ({len(expected)} entries)" in text
    config = load_config(path)
    assert all("enforcement" in s.categories for s in config.sources)  # every source feeds the one feed


def test_filters_on_a_config_keep_its_bytes_and_skip_what_it_has(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINE, encoding="utf-8")
    expected = listed(capsys, "--category", "enforcement", "--province", "浙江")
    assert "zj/sthjt/zfjg" in expected and len(expected) > 1
    assert main(["catalog", "add", "--category", "enforcement", "--province", "浙江", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "already in the config: zj/sthjt/zfjg" in out
    assert f"({len(expected) - 1} source(s) added)" in out and f"added per province (1): 浙江 {len(expected) - 1}" in out
    assert "feed: " in out and "served as https://feeds.example.org/enforcement.atom" in out
    text = path.read_text(encoding="utf-8")
    assert text.startswith(MINE)  # every byte and comment kept: only appended
    assert sorted(catalog_ids(path)) == sorted(expected)
    assert load_config(path).categories["enforcement"].title == "执法"
    assert main(["check", str(path)]) == 0
    capsys.readouterr()

    # The same line again adds nothing and leaves the file alone.
    assert main(["catalog", "add", "--category", "enforcement", "--province", "浙江", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert all(f"already in the config: {i}" in out for i in expected) and "added " not in out
    assert path.read_text(encoding="utf-8") == text


def test_search_narrows_as_catalog_list_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = listed(capsys, "--search", "处罚")
    assert expected
    path = tmp_path / "cases.toml"
    assert main(["catalog", "add", "--search", "处罚", "--config", str(path)]) == 0
    capsys.readouterr()
    assert catalog_ids(path) == expected
    assert main(["check", str(path)]) == 0


def test_no_browser_leaves_those_entries_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = listed(capsys, "--category", "enforcement")
    browser = [i for i in everything if catalog.entry(i).needs_browser]
    path = tmp_path / "plain.toml"
    assert main(["catalog", "add", "--category", "enforcement", "--no-browser", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert catalog_ids(path) == [i for i in everything if i not in browser]
    assert all(f"left out (needs the browser, --no-browser): {i}" in out for i in browser)
    assert "need the browser" not in out.split("added per province")[1]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--category", "enforcement", "--province", "火星"], 1,
         "no catalog entry matches --category enforcement --province 火星; nothing added"),
        (["--category", "enforcment"], 2, "no category 'enforcment' in the catalog; categories: ecology, enforcement"),
        (["zj/sthjt/news", "--category", "enforcement"], 2, "give entry ids or filters (--category, --province, --search), not both"),
        ([], 2, "give entry ids, or --category/--province/--search"),
        (["--search", BROWSER_ONLY, "--no-browser"], 1, "every matching entry needs the browser; nothing added"),
    ],
)
def test_what_adds_nothing_is_an_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINE, encoding="utf-8")
    assert main(["catalog", "add", *argv, "--config", str(path)]) == code
    assert message in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == MINE
    missing = tmp_path / "new.toml"
    assert main(["catalog", "add", *argv, "--config", str(missing)]) == code
    capsys.readouterr()
    assert not missing.exists()


def test_the_line_the_example_config_shows_works_on_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parent.parent / "config" / "example.toml"
    text = example.read_text(encoding="utf-8")
    assert "#   aggregator catalog add --category enforcement --config config/example.toml" in text
    path = tmp_path / "example.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["catalog", "add", "--category", "enforcement", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "already in the config: mee/ywgz/sthjzf/zfzdyxzcf" in out and "enforcement.atom" in out
    assert path.read_text(encoding="utf-8").startswith(text)
    assert sorted(catalog_ids(path)) == sorted(set(listed(capsys, "--category", "enforcement")) | set(catalog_ids(example)))
    assert main(["check", str(path)]) == 0


def test_list_names_an_unknown_category_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list", "--category", "enforcment"]) == 2
    assert "no category 'enforcment' in the catalog; categories: ecology, enforcement" in capsys.readouterr().err


def test_a_province_is_its_name_or_its_whole_id_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zhejiang = listed(capsys, "--province", "浙江")
    assert zhejiang and all(i.startswith("zj/") for i in zhejiang)
    assert listed(capsys, "--province", "zj") == listed(capsys, "--province", "ZJ") == zhejiang
    # A part of a name is a filter (江: 浙江, 江苏, 江西, 黑龙江); a part of a prefix is not
    # ("j" would be zj, jl, jx, tj … alike).
    assert {catalog.entry(i).province for i in listed(capsys, "--province", "江")} == {"浙江", "江苏", "江西", "黑龙江"}
    assert main(["catalog", "list", "--province", "j"]) == 1
    assert "0 entries" in capsys.readouterr().out

    # `catalog add` chooses as `catalog list` does.
    path = tmp_path / "new.toml"
    assert main(["catalog", "add", "--province", "j", "--config", str(path)]) == 1
    assert "no catalog entry matches --province j; nothing added" in capsys.readouterr().err and not path.exists()
    assert main(["catalog", "add", "--province", "jx", "--config", str(path)]) == 0
    capsys.readouterr()
    assert catalog_ids(path) == listed(capsys, "--province", "江西")
