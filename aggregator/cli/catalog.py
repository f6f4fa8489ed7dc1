"""`catalog list / show / add / verify`: the built-in catalog (aggregator/catalog/) from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from typing import TYPE_CHECKING

from .common import EXIT_CONFIG, EXIT_OK, EXIT_SOURCES_FAILED, _load

# The rest of the package is imported inside the commands (see __init__.py).
if TYPE_CHECKING:
    from ..config import Config


def _catalog_sources(args: argparse.Namespace, config: Config) -> list:  # noqa: ANN202 - (Source, Entry | None) pairs
    """What `catalog verify` polls: the ids given, --all, or the config's catalog and preset sources."""
    from ..catalog import CatalogError, entries, entry, expand
    from ..config import ConfigError, Source

    def from_catalog(entry_id: str):  # noqa: ANN202
        configured = next((s for s in config.sources if s.catalog == entry_id), None)
        if configured is not None:
            return configured, entry(entry_id)
        return Source.model_validate(expand({"catalog": entry_id}, set(config.categories))), entry(entry_id)

    try:
        if args.all:
            return [from_catalog(e.id) for e in entries()]
        if args.ids:
            return [from_catalog(i) for i in args.ids]
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None
    if config.path is None:
        raise ConfigError("give entry ids, --all, or --config FILE (to verify its catalog and preset sources)")
    chosen = [(s, entry(s.catalog) if s.catalog else None) for s in config.sources if s.catalog or s.preset]
    if not chosen:
        raise ConfigError(f"{config.path}: no source uses `catalog` or `preset`; give entry ids or --all")
    return chosen


def _filters(args: argparse.Namespace) -> str:
    """The filters given, as typed (`--category enforcement --province 浙江`); "" for none."""
    given = [(f"--{key}", getattr(args, key)) for key in ("category", "province", "search")]
    return " ".join(f"{flag} {value}" for flag, value in given if value)


def _unknown_category(category: str | None) -> bool:
    """Whether `--category` names no catalog category (said on stderr, with the ones there are)."""
    from ..catalog import CATEGORY_TITLES

    if not category or category in CATEGORY_TITLES:
        return False
    print(f"error: no category {category!r} in the catalog; categories: {', '.join(CATEGORY_TITLES)}", file=sys.stderr)
    return True


def _add(args: argparse.Namespace) -> int:
    """`catalog add`: the ids given, or every entry the filters choose (as `catalog list` does)."""
    from pathlib import Path

    from ..catalog import edit, entry
    from ..config import load_config
    from ..publish import feed_url

    filters = _filters(args)
    if args.ids and filters:
        # Neither a union nor a narrowing would be what every user means: say which to give.
        print("error: give entry ids or filters (--category, --province, --search), not both:"
              " `catalog add ID…` adds those entries, `catalog add --category enforcement` every match", file=sys.stderr)
        return EXIT_CONFIG
    if not args.ids and not filters:
        print("error: give entry ids, or --category/--province/--search to add every entry that matches"
              " (`aggregator catalog list` shows them)", file=sys.stderr)
        return EXIT_CONFIG
    if _unknown_category(args.category):
        return EXIT_CONFIG
    chosen = [entry(i) for i in args.ids] if args.ids else edit.select(args.province, args.category, args.search)
    if not chosen:
        print(f"error: no catalog entry matches {filters}; nothing added (`aggregator catalog list {filters}` lists"
              " the same entries)", file=sys.stderr)
        return EXIT_SOURCES_FAILED
    left_out = [e for e in chosen if e.needs_browser] if args.no_browser else []
    chosen = [e for e in chosen if e not in left_out]
    for item in left_out:
        print(f"left out (needs the browser, --no-browser): {item.id}")
    if not chosen:
        print("error: every matching entry needs the browser; nothing added (drop --no-browser to add them)", file=sys.stderr)
        return EXIT_SOURCES_FAILED
    result = edit.add_to_config(Path(args.config), [e.id for e in chosen], how=f" {filters}" if filters else None)
    if result.created:
        print(f"{args.config} did not exist: created it (store.json and feeds/ beside it)")
    for entry_id in result.added:
        item = entry(entry_id)
        browser = f" (needs the browser: {item.why})" if item.needs_browser else ""
        print(f"added {entry_id}{browser}")
    for entry_id in result.already:
        print(f"already in the config: {entry_id}")
    if result.categories:
        print(f"added categories: {', '.join(result.categories)}")
    if not result.added:
        return EXIT_OK
    provinces = Counter(entry(i).province for i in result.added).most_common()  # most first, then catalog order
    print(f"added per province ({len(provinces)}): " + ", ".join(f"{province} {count}" for province, count in provinces))
    browser = [i for i in result.added if entry(i).needs_browser]
    if browser:
        print(f"{len(browser)} of them need the browser: pip install 'feed-aggregator[browser]' and Chromium (README"
              " \"Pages only a browser can read\"); `--no-browser` leaves such entries out")
    config = load_config(Path(args.config))
    feeds = [args.category] if args.category else sorted({c for i in result.added for c in entry(i).categories})
    for slug in feeds:
        if slug in config.categories:
            served = feed_url(str(config.settings.base_url), slug)
            print(f"feed: {config.output_dir / (slug + '.atom')}  (served as {served} by `aggregator run`)")
    print(f"{args.config}: OK ({len(result.added)} source(s) added); `aggregator check {args.config}` shows them")
    return EXIT_OK


def _evidence(args: argparse.Namespace) -> int:
    """`catalog evidence FILE.json`: a user's verify run as the evidence lines a maintainer pastes into the data files."""
    import json
    from pathlib import Path

    from ..catalog.verify import evidence_lines

    path = Path(args.file)
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
        lines, skipped = evidence_lines(run, path.name)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {path}: cannot read: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except json.JSONDecodeError as exc:
        print(f"error: {path}: not JSON ({exc}); give the file `catalog verify --json` wrote", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:  # a JSON file that is not such a report
        print(f"error: {path}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print("\n".join(lines))
    if skipped:
        print(f"{len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} of {path.name} not evidence:", file=sys.stderr)
        print("\n".join(skipped), file=sys.stderr)
    return EXIT_OK if lines else EXIT_SOURCES_FAILED


def cmd_catalog(args: argparse.Namespace) -> int:
    from ..catalog import CatalogError
    from ..config import ConfigError

    try:
        return _catalog(args)
    except CatalogError as exc:  # an unknown id, or a data file broken by a local edit
        raise ConfigError(str(exc)) from None


def _catalog(args: argparse.Namespace) -> int:
    import json

    from ..catalog import edit, entry
    from ..config import Config

    if args.catalog_command == "list":
        if _unknown_category(args.category):
            return EXIT_CONFIG
        chosen = edit.select(args.province, args.category, args.search)
        if args.json:
            print(json.dumps([{"id": e.id, "authority": e.authority, "province": e.province, "column": e.column, "url": e.url,
                               "kind": e.kind, "preset": e.preset, "categories": list(e.categories), "needs_browser": e.needs_browser,
                               "why": e.why or None, "verified": e.verified, "evidence": e.evidence_source,
                               "evidence_kind": e.evidence_kind, "evidence_date": e.evidence_date or None,
                               "evidence_strength": e.evidence_strength or None, "note": e.note or None} for e in chosen],
                             ensure_ascii=False, indent=2))
        else:
            print(edit.list_table(chosen))
            browser = sum(e.needs_browser for e in chosen)
            print(f"\n{len(chosen)} entries ({browser} need the browser); `aggregator catalog show ID` shows one,"
                  " `aggregator catalog add ID… --config FILE` subscribes")
        return EXIT_OK if chosen else EXIT_SOURCES_FAILED
    if args.catalog_command == "show":
        print(edit.show(entry(args.id)), end="")
        return EXIT_OK
    if args.catalog_command == "add":
        return _add(args)
    if args.catalog_command == "evidence":
        return _evidence(args)
    # verify
    from datetime import datetime, timezone

    from ..catalog.verify import report, verdict_table, verify

    config = _load(args.config) if args.config else Config()
    started = datetime.now(timezone.utc)
    verdicts = asyncio.run(verify(config, _catalog_sources(args, config)))
    if args.json:
        print(json.dumps(report(verdicts, started, config), ensure_ascii=False, indent=2))
    else:
        print(verdict_table(verdicts))
        ok = sum(v.status == "ok" for v in verdicts)
        print(f"\n{ok}/{len(verdicts)} entries gave items")
    return EXIT_OK if all(v.status == "ok" for v in verdicts) else EXIT_SOURCES_FAILED
