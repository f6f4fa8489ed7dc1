"""`aggregator cases export`: every stored case as CSV (opens in a spreadsheet) or JSON lines, run as a
user runs it, from a real TinyDB store (and one PostgreSQL store) filled through the store API."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.catalog import authority_label, entries
from aggregator.models import CASE_FIELDS, Case
from aggregator.store import open_store

from .storehelpers import NOW, item

ROOT = Path(__file__).parents[1]
COLUMNS = [*CASE_FIELDS, "link", "title", "source", "source_label", "published", "first_seen"]
VIOLATION = '经查，你公司废气排放口颗粒物浓度超标，\n违反了"排污许可证"规定。'
FULL = Case(
    number="示环罚〔2026〕15号", party="示例化工有限公司", credit_code="91330100MA2XXXXX0A", violation=VIOLATION,
    basis="《中华人民共和国大气污染防治法》第九十九条第二项", penalty="罚款人民币35.6万元", fine_yuan=356000,
    date="2026-01-05", authority="示例市生态环境局",
)
UNDATED = Case(number="示环罚〔2026〕16号", party="绿源环保科技有限公司", fine_yuan=2_000_000)
OLD = Case(number="示环罚〔2025〕99号", party="某某印染厂", penalty="警告", date="2025-12-01")


def penalty_column() -> tuple[str, str]:
    """A catalog entry for a penalty column (id, the label the export gives its source: its authority, as the feeds do)."""
    chosen = next(e for e in entries() if "处罚" in e.column)
    return chosen.id, authority_label(chosen)


def fill(store_location: str | Path) -> None:
    with open_store(store_location) as store:
        store.apply("penalties", [
            item(1, title="示环罚〔2026〕15号", case=FULL),
            item(2, title="关于绿源环保科技有限公司的行政处罚决定", case=UNDATED),
            item(3, title="春季植树活动"),  # not a decision: not exported
        ], NOW)
        store.apply("other", [item(40, title="某某印染厂行政处罚决定书", source="other", case=OLD)], NOW)


def write_config(tmp_path: Path, store: str = "store.json") -> Path:
    catalog_id, _label = penalty_column()
    path = tmp_path / "config.toml"
    path.write_text(f"""
[settings]
store = "{store}"
output_dir = "feeds"

[serve]
enabled = false

[categories.enforcement]
title = "执法"

[categories.big-fines]
title = "大额罚款"
rules = {{ fine_at_least = 1000000 }}

[[sources]]
name = "penalties"
catalog = "{catalog_id}"
categories = ["enforcement"]

[[sources]]
name = "other"
url = "https://example.org/list.html"
""", encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args], env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM a spreadsheet needs to read UTF-8
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    fill(tmp_path / "store.json")
    return write_config(tmp_path)


def test_csv_on_stdout_has_every_case_with_its_entry_and_opens_in_a_spreadsheet(config: Path) -> None:
    done = run("cases", "export", str(config))
    assert done.returncode == 0, done.stderr.decode()
    rows = {row["number"]: row for row in csv_rows(done.stdout)}
    assert set(rows) == {"示环罚〔2026〕15号", "示环罚〔2026〕16号", "示环罚〔2025〕99号"}
    full = rows["示环罚〔2026〕15号"]
    assert {name: full[name] for name in CASE_FIELDS} == {**{k: str(v) for k, v in FULL.as_dict().items()}}
    assert full["violation"] == VIOLATION  # the comma, quotes and line break survive the quoting
    assert full["link"] == "https://example.org/1" and full["title"] == "示环罚〔2026〕15号"
    assert full["source"] == "penalties" and full["source_label"] == penalty_column()[1]
    assert full["published"] == "2026-01-10T19:00:00+08:00"  # NOW - 1 h, in the config's timezone
    assert full["first_seen"] == "2026-01-10T20:00:00+08:00"
    undated = rows["示环罚〔2026〕16号"]
    assert undated["fine_yuan"] == "2000000" and undated["date"] == "" and undated["basis"] == ""
    assert rows["示环罚〔2025〕99号"]["source_label"] == "other"  # no `authority`: its name, as in the feeds
    assert done.stderr.decode().strip().endswith("3 case(s) exported")


def test_jsonl_to_a_file_is_one_object_a_line_with_the_chinese_as_written(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "cases.jsonl"
    done = run("cases", "export", str(config), "--format", "jsonl", "--output", str(out))
    assert done.returncode == 0 and done.stdout == b"", done.stderr.decode()
    data = out.read_bytes()
    assert "示例化工有限公司".encode() in data  # ensure_ascii off: readable in any editor
    lines = data.decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3 and all(list(record) == COLUMNS for record in records)
    undated = next(r for r in records if r["number"] == "示环罚〔2026〕16号")
    assert undated["fine_yuan"] == 2_000_000 and undated["date"] is None and undated["violation"] is None
    assert [p.name for p in out.parent.iterdir()] == ["cases.jsonl"]  # no temporary file left


def test_since_uses_the_decision_date_else_the_published_day(config: Path) -> None:
    done = run("cases", "export", str(config), "--since", "2026-01-06")
    assert done.returncode == 0, done.stderr.decode()
    # 15号 was decided on 01-05, 99号 in 2025; 16号 states no date and was published on 01-10.
    assert [row["number"] for row in csv_rows(done.stdout)] == ["示环罚〔2026〕16号"]
    done = run("cases", "export", str(config), "--since", "2026-01-05", "--format", "jsonl")
    assert sorted(json.loads(line)["number"] for line in done.stdout.splitlines()) == ["示环罚〔2026〕15号", "示环罚〔2026〕16号"]


def test_category_follows_the_current_config_even_before_a_build(config: Path) -> None:
    """The store's items were sorted with no big-fines rule in force: the filter re-derives them."""
    done = run("cases", "export", str(config), "--category", "big-fines")
    assert done.returncode == 0, done.stderr.decode()
    assert [row["number"] for row in csv_rows(done.stdout)] == ["示环罚〔2026〕16号"]
    done = run("cases", "export", str(config), "--category", "enforcement")
    assert sorted(row["number"] for row in csv_rows(done.stdout)) == ["示环罚〔2026〕15号", "示环罚〔2026〕16号"]
    assert run("build", str(config)).returncode == 0  # now the stored categories are current
    done = run("cases", "export", str(config), "--category", "big-fines")
    assert [row["number"] for row in csv_rows(done.stdout)] == ["示环罚〔2026〕16号"]


def test_export_reads_no_bodies(config: Path, tmp_path: Path) -> None:
    """Documents only: with every body pack gone, the export is the same."""
    before = run("cases", "export", str(config)).stdout
    shutil.rmtree(tmp_path / "store.json.blobs")
    done = run("cases", "export", str(config))
    assert done.returncode == 0 and done.stdout == before, done.stderr.decode()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--category", "fines"], 2, ("no category 'fines'", "all, big-fines, enforcement")),
        (["--since", "2026/01/06"], 2, ("--since", "YYYY-MM-DD")),
        (["--since", "2026-02-30"], 2, ("YYYY-MM-DD",)),
        (["--format", "xlsx"], 2, ("csv", "jsonl")),
    ],
)
def test_bad_arguments_say_what_to_write(config: Path, args: list[str], code: int, words: tuple[str, ...]) -> None:
    done = run("cases", "export", str(config), *args)
    err = done.stderr.decode()
    assert done.returncode == code and done.stdout == b"" and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_a_store_not_created_yet_is_said_and_exit_3(tmp_path: Path) -> None:
    config = write_config(tmp_path, store="state/store.json")
    done = run("cases", "export", str(config))
    err = done.stderr.decode()
    assert done.returncode == 3 and "Traceback" not in err, err
    assert f"no store at {tmp_path / 'state' / 'store.json'} yet" in err and "poll --once" in err
    assert not (tmp_path / "state").exists()  # looking created nothing


def test_an_output_that_cannot_be_written_is_one_line_and_exit_3(config: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    done = run("cases", "export", str(config), "--output", str(tmp_path / "a-file" / "cases.csv"))
    err = done.stderr.decode()
    assert done.returncode == 3 and "Traceback" not in err, err
    assert "output error" in err and str(tmp_path / "a-file" / "cases.csv") in err


def test_a_postgresql_store_exports_the_same_rows(tmp_path: Path, postgres_url: str) -> None:
    fill(tmp_path / "store.json")
    fill(postgres_url)
    config = write_config(tmp_path)
    from_tinydb = run("cases", "export", str(config), "--format", "jsonl")
    from_postgres = run("--store", postgres_url, "cases", "export", str(config), "--format", "jsonl")
    assert from_postgres.returncode == 0, from_postgres.stderr.decode()
    assert sorted(from_postgres.stdout.splitlines()) == sorted(from_tinydb.stdout.splitlines())
    assert len(from_postgres.stdout.splitlines()) == 3
    big = run("--store", postgres_url, "cases", "export", str(config), "--category", "big-fines")
    assert [row["number"] for row in csv_rows(big.stdout)] == ["示环罚〔2026〕16号"]
