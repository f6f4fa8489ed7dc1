"""Golden test of issue 19: the cases we read from every labelled penalty page
(tests/fixtures/cases/*/manifest.json; conventions in tests/fixtures/cases/README.md).

One test per page and Case field (all the page's labelled cases, in page order), plus one for the
number of cases, scored by bench/accuracy_scoring.py (score_cases: the rules bench/bench_accuracy.py
reports). Pages run as a poll reads them: an HTML page through decode_page + read_article
(page.cases), a PDF/DOCX through read_document + case_in_text.

KNOWN_MISSES lists what the extractor still gets wrong, each with its reason, as an
xfail(strict=True): when a fix makes it pass, the test FAILS until the entry is deleted here.
To see what we produce: .venv/bin/python -m bench.bench_accuracy --only ours --set cases --verbose
To list what to delete / add after a change: .venv/bin/python tests/test_cases_golden.py
"""

from __future__ import annotations

import hashlib
import sys
from functools import cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.accuracy_scoring import CASE_COUNT, CASE_FIELDS, load_cases, run_cases, score_cases  # noqa: E402

# (file, field) -> why we get it wrong today. Delete an entry when it starts passing.
_D06 = "d06_pingtan_market_778_licences_revoked_text.html"
_D06_WHY = (
    "a 送达公告 that itself states a collective decision (吊销营业执照 for 778 firms named only in its headline): "
    "送达公告 headings are read as notices, as d05's (which states no decision) must be; telling them apart needs "
    "the body's 作出…处罚决定 sentence with no party line, a shape of one page so far"
)
KNOWN_MISSES: dict[tuple[str, str], str] = {
    (_D06, field): _D06_WHY for field in ("n_cases", "party", "violation", "basis", "penalty", "date", "authority")
}

PAGES = load_cases()
BY_FILE = {page["file"]: page for page in PAGES}
FIELDS = (CASE_COUNT, *CASE_FIELDS)


def _params() -> list:
    params = []
    for page in PAGES:
        for name in FIELDS:
            key = (page["file"], name)
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[key])] if key in KNOWN_MISSES else []
            params.append(pytest.param(page["file"], name, id=f"{page['file']}-{name}", marks=marks))
    return params


@cache
def _ours(file: str) -> tuple[dict, ...]:  # one extraction per page, shared by its fields
    return tuple(run_cases(BY_FILE[file]))


def test_there_are_labelled_pages_of_both_kinds() -> None:
    assert PAGES, "no tests/fixtures/cases/*/manifest.json"
    assert any(page["cases"] for page in PAGES) and any(not page["cases"] for page in PAGES)


def test_known_misses_name_real_fields() -> None:
    known = {(p["file"], f) for p in PAGES for f in FIELDS}
    assert set(KNOWN_MISSES) <= known, f"no such page/field: {sorted(set(KNOWN_MISSES) - known)}"
    assert all(reason.strip() for reason in KNOWN_MISSES.values()), "every known miss says why"


@pytest.mark.parametrize("file", [p["file"] for p in PAGES])
def test_fixture_bytes_match_manifest(file: str) -> None:
    page = BY_FILE[file]
    assert hashlib.sha256((page["_folder"] / file).read_bytes()).hexdigest() == page["sha256"]


@pytest.mark.parametrize(("file", "field"), _params())
def test_case_field(file: str, field: str) -> None:
    checks = score_cases(BY_FILE[file], list(_ours(file)))[field]
    wrong = [f"{c.field}: got {c.got_full or c.got!r}, want {c.want!r}" for c in checks if not c.ok]
    assert not wrong, f"{file}: " + "; ".join(wrong)


def _suggest() -> None:
    """Print the KNOWN_MISSES the current extractor calls for: entries to delete, entries to add."""
    for page in PAGES:
        for name, checks in score_cases(page, list(_ours(page["file"]))).items():
            key = (page["file"], name)
            bad = [c for c in checks if not c.ok]
            if bad and key not in KNOWN_MISSES:
                print(f"add    {key!r}: {bad[0].field} got {bad[0].got!r} want {bad[0].want!r}")
            if not bad and key in KNOWN_MISSES:
                print(f"delete {key!r}")


if __name__ == "__main__":
    _suggest()
