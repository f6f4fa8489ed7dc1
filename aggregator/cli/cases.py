"""`cases export`: every stored penalty case (行政处罚) as CSV or JSON lines, one row per case.

A row is the case's fields (CASE_FIELDS, in that order) and the entry it came from: link, title,
source, the source's label (its catalog authority and column, when it came from the catalog),
published and first seen (ISO 8601 in the config's timezone). Rows come in the store's order,
streamed: documents are read without their bodies, a shard or a page at a time.

`--since DATE` keeps the cases decided on or after DATE; a case that states no decision date is
judged by its entry's published date, else by when it was first seen. `--category` keeps the
items the current config puts in that feed (what the next publish shows).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .common import EXIT_CONFIG, EXIT_OK, EXIT_STORE, _load

# The rest of the package is imported inside the functions (see __init__.py).
if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..config import Config
    from ..models import StoredItem
    from ..store import Store

ENTRY_FIELDS = ("link", "title", "source", "source_label", "published", "first_seen")


def since_date(value: str) -> date:
    """argparse type of --since: a calendar date written YYYY-MM-DD."""
    problem = argparse.ArgumentTypeError(f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-01-31")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # fromisoformat alone also takes 20260131
        raise problem
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        raise problem from None


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    cases = sub.add_parser("cases", help="penalty cases (行政处罚) read from the stored items")
    cases_sub = cases.add_subparsers(dest="cases_command", required=True)
    export = cases_sub.add_parser(
        "export", help="write every stored case, one row each, as CSV (for a spreadsheet) or JSON lines",
        description=(
            "Write every stored penalty case with the entry it came from. CSV is UTF-8 with a byte-order mark,"
            " so a spreadsheet shows the Chinese text; jsonl is one JSON object per line. Works while the"
            " daemon runs. Exit 2 for an unknown category or a bad date, 3 when the store does not exist"
            " yet or cannot be read, or the output file cannot be written."
        ),
    )
    export.add_argument("config")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="csv (the default) or jsonl")
    export.add_argument(
        "--since", type=since_date, metavar="YYYY-MM-DD",
        help="only cases decided on or after this day (undated decisions: the entry's published day, else first seen)",
    )
    export.add_argument("--category", metavar="NAME", help="only items in this feed under the current config")
    export.add_argument("--output", "-o", metavar="FILE", help="write here (replaced whole at the end) instead of stdout")
    export.set_defaults(func=cmd_cases)


def cmd_cases(args: argparse.Namespace) -> int:
    from ..config.models import is_database_url
    from ..store import open_store

    config = _load(args.config)
    if args.category is not None and args.category not in config.categories and args.category != "all":
        known = ", ".join(["all", *sorted(config.categories)])
        print(f"no category {args.category!r} in {args.config}; categories: {known}", file=sys.stderr)
        return EXIT_CONFIG
    location = config.store_location
    if not is_database_url(location) and not Path(location).exists():
        # A read-only open of a missing TinyDB store is an empty store: say why there is nothing instead.
        print(
            f"store error: no store at {location} yet (settings.store); poll first (`aggregator poll --once"
            f" {args.config}` or the daemon), or point --store at an existing store",
            file=sys.stderr,
        )
        return EXIT_STORE
    with open_store(location, readonly=True) as store:
        rows = _rows(config, store, since=args.since, category=args.category)
        write = _csv_writer if args.format == "csv" else _jsonl_writer
        if args.output is None:
            count = write(rows, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            from ..infra.atomicfile import replace_file_with

            output = Path(args.output).expanduser()
            counted: list[int] = []
            try:
                replace_file_with(output, lambda handle: counted.append(write(rows, handle)))
            except OSError as exc:
                print(f"output error: cannot write {output.absolute()}: {exc.strerror or exc}; choose another --output",
                      file=sys.stderr)
                return EXIT_STORE
            count = counted[0]
    where = "" if args.output is None else f" to {args.output}"
    print(f"{count} case(s) exported{where}", file=sys.stderr)
    return EXIT_OK


def _rows(config: Config, store: Store, *, since: date | None, category: str | None) -> Iterator[dict[str, Any]]:
    """One dict per stored case: CASE_FIELDS then ENTRY_FIELDS, filtered."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(config.settings.timezone)
    in_category = _category_test(config, store, category)
    labels = _source_labels(config)
    for stored in store.cases():
        assert stored.case is not None  # cases() yields only items with one
        if since is not None and _decision_day(stored, zone) < since:
            continue
        if in_category is not None and not in_category(stored):
            continue
        yield {
            **stored.case.as_dict(),
            "link": stored.url,
            "title": stored.title,
            "source": stored.source,
            "source_label": labels.get(stored.source, stored.source),  # a removed source: its name, as in the feeds
            "published": stored.published.astimezone(zone).isoformat() if stored.published else None,
            "first_seen": stored.first_seen.astimezone(zone).isoformat(),
        }


def _decision_day(stored: StoredItem, zone: ZoneInfo) -> date:
    """The day --since compares: the decision's date, else the entry's published day, else first seen."""
    if stored.case is not None and stored.case.date:
        try:
            return date.fromisoformat(stored.case.date)
        except ValueError:
            pass  # a stored date we cannot read falls back like a missing one
    return (stored.published or stored.first_seen).astimezone(zone).date()


def _category_test(config: Config, store: Store, category: str | None) -> Callable[[StoredItem], bool] | None:
    """Whether an item is in `category` under the current config, as the next publish sorts it."""
    if category is None or category == "all":
        return None
    from ..classify import CLASSIFICATION_META, categories_now, classification_fingerprint, stored_as_item

    if store.meta(CLASSIFICATION_META) == classification_fingerprint(config):
        return lambda stored: category in stored.categories  # sorted by today's rules already
    # The config changed since the last publish: sort again, reading a body only when a rule reads bodies.
    reads_body = any(c.rules_read("body") for c in config.categories.values())
    by_name = {source.name: source for source in config.sources}

    def test(stored: StoredItem) -> bool:
        full = (store.get(stored.key, with_body=True) or stored) if reads_body else stored
        by_source = categories_now(stored_as_item(full), full.sources, config, full.source_categories, by_name=by_name)[0]
        return any(category in cats for cats in by_source.values())

    return test


def _source_labels(config: Config) -> dict[str, str]:
    """Source name -> the name the feeds give its entries (Source.label: its authority, else its name)."""
    return {source.name: source.label for source in config.sources}


def _csv_writer(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    """CSV in UTF-8 with a byte-order mark: without it Excel reads the Chinese text as GBK."""
    import csv
    import io

    from ..models import CASE_FIELDS

    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.DictWriter(text, fieldnames=[*CASE_FIELDS, *ENTRY_FIELDS])
        writer.writeheader()
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        text.flush()
        return count
    finally:
        text.detach()  # leave `out` open: it is stdout or the caller's temp file


def _jsonl_writer(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    import json

    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count
