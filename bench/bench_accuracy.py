"""Extraction accuracy on the labelled real pages of tests/fixtures (issue 10, issue 20).

    .venv/bin/python -m bench.bench_accuracy [--only ours[,trafilatura,...]] [--page FILE]
                                             [--set real|collected|cases|NAME] [--repeat 5] [--json] [--verbose]
                                             [--case-cost RUNS]

Two kinds of sets: `real` (tests/fixtures/real/manifest.json, the dev set of issue 10) and the
groups under tests/fixtures/collected/ (pages collected from public stored copies for later issues,
same manifest format). The table is printed for all pages and for each set.

Runs our extractors on every manifest page through the same pure functions as `aggregator try`
(decode_page + read_article, or read_list + normalise_all; no HTTP), scores each field with
bench/accuracy_scoring.py (the rules the golden test uses), and prints per field how many pages
are right, what we produced on each wrong page, timings (median and p90 of the per-page medians,
each page repeated --repeat times) and peak RSS.

Penalty cases (issue 19): every page of tests/fixtures/cases/*/manifest.json is read as a poll reads
it (read_article's page.cases; a PDF/DOCX through read_document and case_in_text) and each Case field
is scored per labelled case (bench/accuracy_scoring.py: score_cases), per set and overall.

With the `bench` extra installed (pip install -e '.[bench]') other extractors run side by side
(bench/accuracy_libraries.py): each gets the page already decoded by our decode_page, and is
scored only on the fields it produces (a dash otherwise). A library that raises on a page scores
that page wrong in all its fields.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.accuracy_scoring import (  # noqa: E402
    ARTICLE_FIELDS,
    CASE_COUNT,
    CASE_FIELDS,
    LIST_FIELDS,
    NOW,
    ZONE,
    ArticleResult,
    Check,
    ListResult,
    decode,
    load_all,
    load_cases,
    page_bytes,
    page_url,
    run_cases,
    run_ours,
    score,
    score_cases,
)

PAGE_TIMEOUT = 60  # seconds per extractor call; past it the page is scored wrong

LABELS = {
    "title": "title",
    "publish_day": "day",
    "publish_time": "time",
    "source": "来源",
    "author": "author*",
    "body_start": "start",
    "body_end": "end",
    "count": "n items",
    "first3_titles": "3 titles",
    "first3_links": "3 links",
    "first3_dates": "3 dates",
    "list_exact": "list exact",
}


@dataclass
class Extractor:
    """One extractor under test. `run(page, html, body)` gets the manifest page, the text our
    decode_page made of it and the raw bytes, and returns an ArticleResult or ListResult."""

    name: str
    kinds: tuple[str, ...]
    fields: frozenset[str]  # the fields it can produce; the others are shown as "-"
    run: Callable[[dict, str, bytes], ArticleResult | ListResult]
    note: str = ""


def ours() -> Extractor:
    return Extractor(
        "ours",
        ("article", "list"),
        frozenset(ARTICLE_FIELDS + LIST_FIELDS),
        lambda page, html, body: run_ours(page, body),
        "decode_page + read_article / read_list + normalise_all, from the file's bytes (decode timed too)",
    )


class _Timeout(Exception):
    pass


def _alarm(_signum, _frame):  # noqa: ANN001
    raise _Timeout(f"no answer in {PAGE_TIMEOUT} s")


def _call(ex: Extractor, page: dict, html: str, body: bytes):  # noqa: ANN202
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(PAGE_TIMEOUT)
    try:
        return ex.run(page, html, body)
    finally:
        signal.alarm(0)


@dataclass
class Outcome:
    name: str
    note: str
    kinds: tuple[str, ...]
    fields: frozenset[str]
    checks: dict[str, dict[str, Check]] = field(default_factory=dict)  # file -> field -> check
    errors: dict[str, str] = field(default_factory=dict)  # file -> exception
    ms: dict[str, float] = field(default_factory=dict)  # file -> median ms
    unavailable: str | None = None


def run_extractor(ex: Extractor, pages: list[dict], texts: dict[str, str], repeat: int) -> Outcome:
    out = Outcome(ex.name, ex.note, ex.kinds, ex.fields)
    for page in pages:
        if page["kind"] not in ex.kinds:
            continue
        body, html = page_bytes(page), texts[page["file"]]
        got = None
        try:
            got = _call(ex, page, html, body)
        except Exception as exc:  # noqa: BLE001 - a crash scores the page wrong; the bench goes on
            out.errors[page["file"]] = f"{type(exc).__name__}: {str(exc)[:200]}"
        wanted = tuple(f for f in (ARTICLE_FIELDS if page["kind"] == "article" else LIST_FIELDS) if f in ex.fields)
        out.checks[page["file"]] = score(page, got, html, wanted)
        if got is not None and repeat > 0:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                try:
                    result = _call(ex, page, html, body)
                    if isinstance(result, ArticleResult):
                        _ = result.body
                except Exception:  # noqa: BLE001
                    pass
                times.append((time.perf_counter() - start) * 1000)
            out.ms[page["file"]] = statistics.median(times)
    return out


def _p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def tally(out: Outcome, pages: list[dict]) -> dict[str, tuple[int, int] | None]:
    """field -> (right, total), None for a field the extractor does not produce."""
    result: dict[str, tuple[int, int] | None] = {}
    for kind, names in (("article", ARTICLE_FIELDS), ("list", LIST_FIELDS)):
        for name in names:
            if kind not in out.kinds or name not in out.fields or out.unavailable:
                result[name] = None
                continue
            checks = [out.checks[p["file"]][name] for p in pages if p["kind"] == kind and name in out.checks.get(p["file"], {})]
            result[name] = (sum(c.ok for c in checks), len(checks))
    return result


def timing(out: Outcome, pages: list[dict], kind: str) -> tuple[float, float] | None:
    values = [out.ms[p["file"]] for p in pages if p["kind"] == kind and p["file"] in out.ms]
    if not values:
        return None
    return statistics.median(values), _p90(values)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    try:
        from bench.sites import machine_info

        return machine_info()
    except Exception:  # noqa: BLE001
        import platform

        return f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def print_details(out: Outcome, pages: list[dict], verbose: bool) -> None:
    print(f"\n== {out.name}: {out.note}" if out.note else f"\n== {out.name}")
    if out.unavailable:
        print(f"   not run: {out.unavailable}")
        return
    counts = tally(out, pages)
    for kind, names in (("article", ARTICLE_FIELDS), ("list", LIST_FIELDS)):
        if kind not in out.kinds:
            continue
        kind_pages = [p for p in pages if p["kind"] == kind]
        if not kind_pages:
            continue
        print(f"-- {kind} pages ({len(kind_pages)})")
        for name in names:
            if counts[name] is None:
                continue
            right, total = counts[name]
            extra = "  (informational)" if name == "author" else ""
            print(f"   {name:14} {right:3}/{total:<3}{extra}")
            for p in kind_pages:
                check = out.checks.get(p["file"], {}).get(name)
                if check is None or check.ok:
                    continue
                print(f"      {p['file']}: got {check.got!r}  want {check.want!r}")
                if verbose and check.got_full:
                    for line in check.got_full.splitlines():
                        print(f"         | {line}")
        t = timing(out, pages, kind)
        if t:
            print(f"   time per {kind} page: median {t[0]:.1f} ms, p90 {t[1]:.1f} ms")
    for file, error in out.errors.items():
        print(f"   CRASHED on {file}: {error}")


def print_table(outcomes: list[Outcome], pages: list[dict]) -> None:
    names = [n for n in ARTICLE_FIELDS + LIST_FIELDS if any(p["kind"] == ("article" if n in ARTICLE_FIELDS else "list") for p in pages)]
    headers = ["extractor", *(LABELS[n] for n in names), "ms/article", "ms/list"]
    rows = []
    for out in outcomes:
        counts = tally(out, pages)
        row = [out.name]
        for n in names:
            c = counts[n]
            row.append("-" if c is None else f"{c[0]}/{c[1]}")
        for kind in ("article", "list"):
            t = None if out.unavailable else timing(out, pages, kind)
            row.append("-" if t is None else f"{t[0]:.1f}")
        rows.append(row)
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda cells: "| " + " | ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def as_json(outcomes: list[Outcome], pages: list[dict], info: dict) -> dict:
    data: dict = {**info, "extractors": {}}
    for out in outcomes:
        entry: dict = {"note": out.note, "unavailable": out.unavailable, "errors": out.errors, "fields": {}, "timing_ms": {}}
        for name, c in tally(out, pages).items():
            if c is None:
                continue
            wrong = [
                {"file": f, "got": checks[name].got_full or checks[name].got, "want": checks[name].want}
                for f, checks in out.checks.items()
                if name in checks and not checks[name].ok
            ]
            entry["fields"][name] = {"right": c[0], "total": c[1], "wrong": wrong}
        for kind in ("article", "list"):
            if (t := timing(out, pages, kind)) is not None:
                entry["timing_ms"][kind] = {"median": round(t[0], 2), "p90": round(t[1], 2)}
        entry["per_page_ms"] = {f: round(v, 2) for f, v in out.ms.items()}
        data["extractors"][out.name] = entry
    return data


CASE_LABELS = {CASE_COUNT: "n cases", "number": "文号", "party": "当事人", "credit_code": "信用代码", "violation": "违法事实",
               "basis": "依据", "penalty": "处罚", "fine_yuan": "罚款", "date": "日期", "authority": "机关"}


@dataclass
class CaseOutcome:
    checks: dict[str, dict[str, list[Check]]] = field(default_factory=dict)  # file -> field -> checks
    errors: dict[str, str] = field(default_factory=dict)
    ms: dict[str, float] = field(default_factory=dict)


def run_case_pages(pages: list[dict], repeat: int) -> CaseOutcome:
    out = CaseOutcome()
    for page in pages:
        got = None
        try:
            got = run_cases(page)
        except Exception as exc:  # noqa: BLE001 - a crash scores the page wrong; the bench goes on
            out.errors[page["file"]] = f"{type(exc).__name__}: {str(exc)[:200]}"
        out.checks[page["file"]] = score_cases(page, got)
        if got is not None and repeat > 0:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                run_cases(page)
                times.append((time.perf_counter() - start) * 1000)
            out.ms[page["file"]] = statistics.median(times)
    return out


def case_counts(out: CaseOutcome, pages: list[dict]) -> dict[str, tuple[int, int]]:
    counts = {}
    for name in (CASE_COUNT, *CASE_FIELDS):
        checks = [c for p in pages for c in out.checks[p["file"]][name]]
        counts[name] = (sum(c.ok for c in checks), len(checks))
    return counts


def print_case_tables(out: CaseOutcome, pages: list[dict], verbose: bool) -> None:
    n_cases = sum(len(p["cases"]) for p in pages)
    print(f"\nPenalty cases (issue 19): {len(pages)} pages, {n_cases} labelled cases in tests/fixtures/cases/*/manifest.json;"
          " right/labelled per field (n cases: pages with the right number of cases)\n")
    sets = sorted({p["_set"] for p in pages})
    names = (CASE_COUNT, *CASE_FIELDS)
    headers = ["set", "pages", "cases", *(CASE_LABELS[n] for n in names), "ms/page"]
    rows = []
    for name, in_set in [("all", pages), *((s, [p for p in pages if p["_set"] == s]) for s in sets)]:
        counts = case_counts(out, in_set)
        ms = [out.ms[p["file"]] for p in in_set if p["file"] in out.ms]
        rows.append([name, str(len(in_set)), str(sum(len(p["cases"]) for p in in_set)),
                     *(f"{counts[n][0]}/{counts[n][1]}" for n in names), f"{statistics.median(ms):.1f}" if ms else "-"])
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda cells: "| " + " | ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    wrong = [(p["file"], c) for p in pages for n in names for c in out.checks[p["file"]][n] if not c.ok]
    if wrong:
        print("\nwrong:")
    for file, check in wrong:
        got = check.got_full if verbose and check.got_full else check.got
        print(f"   {file} {check.field}: got {got!r}  want {check.want!r}")
    for file, error in out.errors.items():
        print(f"   CRASHED on {file}: {error}")


def case_cost(pages: list[dict], texts: dict[str, str], runs: int) -> None:
    """ms/article of extract_article with the case reading off and on, interleaved page by page
    (min of `runs` CPU-time runs each, so a busy machine skews neither side). Off is the extractor
    before issue 19: no look for decision words, so no decision-table body rule and no reading."""
    from aggregator.extract import article

    articles = [p for p in pages if p["kind"] == "article"]
    if not articles:
        print("\ncost of reading cases: no article pages in the sets chosen")
        return
    on = article.may_hold_cases
    times: dict[str, list[float]] = {"off": [], "on": []}
    for page in articles:
        best = {"off": math.inf, "on": math.inf}
        for _ in range(runs):
            for name, look in (("off", lambda text: False), ("on", on)):
                article.may_hold_cases = look
                start = time.process_time()
                article.extract_article(texts[page["file"]], page_url(page), None, tz=ZONE, now=NOW)
                best[name] = min(best[name], (time.process_time() - start) * 1000)
        article.may_hold_cases = on
        for name in best:
            times[name].append(best[name])
    print(f"\ncost of reading cases: extract_article on {len(articles)} article pages, min of {runs} CPU-time runs each, interleaved")
    for name, label in (("off", "without (before issue 19)"), ("on", "with the case reading")):
        print(f"   {label:28} median {statistics.median(times[name]):.2f} ms/article, mean {statistics.mean(times[name]):.2f}")
    extra = [b - a for a, b in zip(times["off"], times["on"])]
    print(f"   added per page: median {statistics.median(extra):+.3f} ms, p90 {_p90(extra):+.3f} ms, max {max(extra):+.3f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated extractor names (ours, trafilatura, ...); default: all available")
    ap.add_argument("--page", action="append", help="only this manifest file (repeatable)")
    ap.add_argument("--set", dest="sets", action="append",
                    help="only this set: real, collected (every collected group) or collected/NAME (repeatable)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per page and extractor (default 5; 0: no timing)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead")
    ap.add_argument("--verbose", action="store_true", help="print our full value for each wrong field")
    ap.add_argument("--case-cost", type=int, metavar="RUNS", default=0,
                    help="also time extract_article with and without the case reading (min of RUNS runs per page)")
    args = ap.parse_args(argv)

    pages = load_all()
    case_pages = load_cases()
    if args.sets:
        def chosen(page: dict) -> bool:
            return any(page["_set"] == s or page["_set"].startswith(s.rstrip("/") + "/") for s in args.sets)

        pages = [p for p in pages if chosen(p)]
        case_pages = [p for p in case_pages if chosen(p)]
        if not pages and not case_pages:
            ap.error(f"no pages in set(s) {', '.join(args.sets)}")
    if args.page:
        wanted = {Path(p).name for p in args.page}
        unknown = wanted - {p["file"] for p in pages} - {p["file"] for p in case_pages}
        if unknown:
            ap.error(f"not in the manifest: {', '.join(sorted(unknown))}")
        pages = [p for p in pages if p["file"] in wanted]
        case_pages = [p for p in case_pages if p["file"] in wanted]
    only = {n.strip() for n in args.only.split(",")} if args.only else None

    # Every extractor is handed the same text: our decode_page's.
    texts = {}
    for p in pages:
        try:
            texts[p["file"]] = decode(p)
        except Exception as exc:  # noqa: BLE001 - ours then fails on the page too; libraries get a lossy UTF-8 read
            print(f"decode_page failed on {p['file']}: {exc}", file=sys.stderr)
            texts[p["file"]] = page_bytes(p).decode("utf-8", "replace")

    if only is not None and only - {"ours"}:
        from bench.accuracy_libraries import SPECS

        known = {"ours", *(spec[0] for spec in SPECS)}
        if only - known:
            ap.error(f"unknown extractor(s): {', '.join(sorted(only - known))}; known: {', '.join(sorted(known))}")

    outcomes: list[Outcome] = []
    rss_ours = None
    if only is None or "ours" in only:  # first, so that its peak RSS is its own
        if not args.json:
            print("running ours …", file=sys.stderr, flush=True)
        outcomes.append(run_extractor(ours(), pages, texts, args.repeat))
        rss_ours = peak_rss_mib()
    if only is None or only - {"ours"}:
        from bench.accuracy_libraries import declare_utf8, libraries

        lib_texts = {f: declare_utf8(t) for f, t in texts.items()}
        for ex in libraries(Extractor, only):
            if isinstance(ex, tuple):  # (name, why it cannot run)
                outcomes.append(Outcome(ex[0], "", (), frozenset(), unavailable=ex[1]))
                continue
            if not args.json:
                print(f"running {ex.name} …", file=sys.stderr, flush=True)
            outcomes.append(run_extractor(ex, pages, lib_texts, args.repeat))

    case_outcome = None
    if case_pages and (only is None or "ours" in only):
        if not args.json:
            print("running ours on the penalty-case pages …", file=sys.stderr, flush=True)
        case_outcome = run_case_pages(case_pages, args.repeat)

    n_art = sum(p["kind"] == "article" for p in pages)
    n_list = len(pages) - n_art
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "manifest": "tests/fixtures/real/manifest.json + tests/fixtures/collected/*/manifest.json",
        "sets": sorted({p["_set"] for p in pages}),
        "pages": {"article": n_art, "list": n_list},
        "now": NOW.isoformat(),
        "repeat": args.repeat,
        "peak_rss_mib": {"after_ours": round(rss_ours, 1) if rss_ours else None, "at_end": round(peak_rss_mib(), 1)},
    }
    if args.json:
        data = as_json(outcomes, pages, info)
        if case_outcome is not None:
            data["cases"] = {
                "fields": {name: {"right": c[0], "total": c[1]} for name, c in case_counts(case_outcome, case_pages).items()},
                "per_set": {s: {name: {"right": c[0], "total": c[1]} for name, c in case_counts(case_outcome, [p for p in case_pages if p["_set"] == s]).items()}
                            for s in sorted({p["_set"] for p in case_pages})},
                "wrong": [{"file": f, "field": c.field, "got": c.got_full or c.got, "want": c.want}
                          for f, checks in case_outcome.checks.items() for cs in checks.values() for c in cs if not c.ok],
                "errors": case_outcome.errors,
                "per_page_ms": {f: round(v, 2) for f, v in case_outcome.ms.items()},
            }
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0

    if pages:  # --set cases reads only the case pages
        print(f"Extraction accuracy (issue 10): {n_art} article pages, {n_list} list pages of {info['manifest']}")
        print(f"machine: {info['machine']}; date: {info['date']}")
        print(f"now = {NOW.isoformat()} (relative and year-less dates count from it); times: median of {args.repeat} runs per page")
        print("every extractor is handed the page as decoded by our decode_page (the same text for all; for libraries its"
              " <meta charset> is rewritten to utf-8, since some re-encode the text); decode is timed for ours only")
        for out in outcomes:
            print_details(out, pages, args.verbose)
        print()
        print(f"peak RSS: {info['peak_rss_mib']['after_ours']} MiB after ours" + (
            f", {info['peak_rss_mib']['at_end']} MiB with every library loaded" if len(outcomes) > 1 else ""))
        print(f"\nright/total per field ({n_art} article pages, {n_list} list pages; '-' = the extractor does not produce"
              " that field; author* is informational; ms = median per page):\n")
        print_table(outcomes, pages)
        sets = sorted({p["_set"] for p in pages}, key=lambda name: (name != "real", name))
        if len(sets) > 1:
            for name in sets:
                in_set = [p for p in pages if p["_set"] == name]
                n_a = sum(p["kind"] == "article" for p in in_set)
                print(f"\nset {name} ({n_a} article pages, {len(in_set) - n_a} list pages):\n")
                print_table(outcomes, in_set)
        for out in outcomes:
            if out.unavailable:
                print(f"  {out.name}: {out.unavailable}")
    if case_outcome is not None:
        print_case_tables(case_outcome, case_pages, args.verbose)
    if args.case_cost:
        case_cost(pages, texts, args.case_cost)
    return 0


if __name__ == "__main__":
    sys.exit(main())
