"""Golden test of issue 10: our extractors on every labelled real page (tests/fixtures/real/manifest.json
and each tests/fixtures/collected/*/manifest.json).

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

from bench.accuracy_scoring import GOLDEN_FIELDS, decode, load_all, page_bytes, run_ours, score  # noqa: E402

# (file, field) -> why we get it wrong today. Delete an entry when it starts passing.
KNOWN_MISSES: dict[tuple[str, str], str] = {
    ("g08_sh_wsjkw_yqtb_article.html", "source"): "no 来源 on the page; meta ContentSource (the site itself) is kept as the issue asks",
    ("g08_sh_wsjkw_yqtb_article.html", "body_end"): "the statistics table after the last sentence is kept on purpose: it is data readers want",
}

PAGES = load_all()
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
    assert (page["_folder"] / file).is_file()
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
