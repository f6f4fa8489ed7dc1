"""`status`: the health of every source and notify target, and with --explain why the newest
items are in their feeds; `notify test`: one test message sent now.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .common import EXIT_CONFIG, EXIT_OK, EXIT_SOURCES_FAILED, EXIT_STORE, _load

# The rest of the package is imported inside the commands (see __init__.py).
if TYPE_CHECKING:
    from ..config import Config
    from ..store.records import SourceState


def _ago(value: str | None, now: datetime) -> str:
    if not value:
        return "never"
    seconds = (now - datetime.fromisoformat(value)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _next_poll(config: Config, name: str, state: SourceState | None, now: datetime) -> str:
    """When the daemon polls a source next, by the scheduler's own rule (give or take its jitter)."""
    import random

    from ..schedule_policy import in_words, next_run

    if not config.source(name).enabled:
        return "-"
    if state is None or state.last_attempt is None:
        return "at start"
    due = next_run(state, config.interval_of(config.source(name)), now, random.Random(name))
    if due is None:
        return "never (gone)"
    return "due now" if (due - now).total_seconds() <= 1 else in_words(due, now)


def cmd_status(args: argparse.Namespace) -> int:
    from ..catalog.edit import table
    from ..publish.health import source_health, write_problems
    from ..store import open_store

    config = _load(args.config)
    # Read-only: status works while the daemon owns the store.
    with open_store(config.store_location, readonly=True) as store:
        states = store.states()
        counts = store.counts_by_source()
        notify_docs = store.notify_docs() if config.notify else []
    now = datetime.now(timezone.utc)
    rows = source_health(config, states, now, counts=counts)
    header = ["source", "status", "items stored", "last poll", "last success", "failures in a row", "items in last poll",
              "next poll", "last error"]
    cells: list[list[str]] = []
    notes: dict[int, list[str]] = {}
    for number, row in enumerate(rows):
        error = f"{row.last_error_kind}: {row.last_error}" if row.last_error else ""
        cells.append([
            row.name, row.status, str(row.items_stored), _ago(row.last_attempt, now), _ago(row.last_success, now),
            str(row.consecutive_failures), "-" if row.items_last_poll is None else str(row.items_last_poll),
            _next_poll(config, row.name, states.get(row.name), now), error[:120],
        ])
        if row.rendered:
            notes.setdefault(number, []).append(f"{'':<24} needed the browser {_ago(row.rendered_at, now)}: {row.rendered}")
        if row.moved_hint:  # a redesigned site: where the column went, and the line to paste
            notes.setdefault(number, []).append(f"{'':<24} {row.moved_hint}")
    lines = table(header, cells).splitlines()
    for number, line in enumerate(lines):
        print(line)
        if number >= 2 and number - 2 in notes:
            print("\n".join(notes[number - 2]))
    if config.notify:
        _print_notify_status(config, notify_docs, now)
    if args.explain:
        _explain_newest(config, args.explain)
    # A full or read-only disk: the sources may all be "ok" while nothing they bring is kept or published.
    problems = [line for line in write_problems(config, writer=False) if line]
    if problems:
        print("\n" + "\n".join(problems))
        return EXIT_STORE
    return EXIT_SOURCES_FAILED if any(row.status not in ("ok", "disabled", "never-polled") for row in rows) else EXIT_OK


def _print_notify_status(config: Config, docs: list[dict], now: datetime) -> None:
    from ..notify import notify_status

    from ..catalog.edit import table

    print()
    cells = [
        [row["name"], row["status"], str(row["pending"]), _ago(row["last_sent"], now), str(row["failures"]), (row["last_error"] or "")[:120]]
        for row in notify_status(config, docs)
    ]
    print(table(["notify target", "status", "messages queued", "last sent", "failures in a row", "last error"], cells))


def cmd_notify(args: argparse.Namespace) -> int:
    """`notify test NAME CONFIG`: send one test message now, say whether it arrived."""
    from ..notify import NotifyError, send, test_message

    config = _load(args.config)
    target = next((t for t in config.notify if t.name == args.name), None)
    if target is None:
        known = ", ".join(t.name for t in config.notify) or "none defined"
        print(f"no [[notify]] target named {args.name!r} in {args.config} (targets: {known})", file=sys.stderr)
        return EXIT_CONFIG
    title, body = test_message(target, config)
    try:
        send(target, title, body)
    except NotifyError as exc:
        print(f"{target.name}: NOT sent: {exc}", file=sys.stderr)
        return EXIT_SOURCES_FAILED
    print(f"{target.name}: test message sent")
    return EXIT_OK


def _explain_newest(config: Config, count: int) -> None:
    """Why the newest items are in their feeds, by the current config: what the next publish writes."""
    from ..classify import categories_now
    from ..classify import stored_as_item
    from ..store import open_store

    with open_store(config.store_location, readonly=True) as store:
        newest = store.newest({"all": count})["all"]
    print(f"\nthe {len(newest)} newest items, and why they are where they are:")
    for stored in newest:
        by_source, reasons = categories_now(stored_as_item(stored), stored.sources, config, stored.source_categories)
        categories = sorted({c for cats in by_source.values() for c in cats})
        print(f"- {stored.title}  [{', '.join(categories) or '-'}]\n    {stored.url}")
        gone = [name for name in stored.sources if name not in {s.name for s in config.sources}]
        if gone:
            reasons.append(f"source(s) {', '.join(gone)} no longer in the config: their earlier categories are kept")
        for reason in reasons or ["no category: the source has none and no rule matched"]:
            print(f"      {reason}")
