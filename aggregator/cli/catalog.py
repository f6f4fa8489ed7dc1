"""`catalog list / show / add / verify`: the built-in catalog (aggregator/catalog/) from the command line."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from .common import EXIT_OK, EXIT_SOURCES_FAILED, _load

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
        from pathlib import Path

        result = edit.add_to_config(Path(args.config), args.ids)
        if result.created:
            print(f"{args.config} did not exist: created it (store.json and feeds/ beside it)")
        for entry_id in result.added:
            print(f"added {entry_id}")
        for entry_id in result.already:
            print(f"already in the config: {entry_id}")
        if result.categories:
            print(f"added categories: {', '.join(result.categories)}")
        if result.added:
            print(f"{args.config}: OK ({len(result.added)} source(s) added); `aggregator check {args.config}` shows them")
        return EXIT_OK
    # verify
    from ..catalog.verify import verdict_table, verify

    config = _load(args.config) if args.config else Config()
    verdicts = asyncio.run(verify(config, _catalog_sources(args, config)))
    if args.json:
        print(json.dumps([v.as_json() for v in verdicts], ensure_ascii=False, indent=2))
    else:
        print(verdict_table(verdicts))
        ok = sum(v.status == "ok" for v in verdicts)
        print(f"\n{ok}/{len(verdicts)} entries gave items")
    return EXIT_OK if all(v.status == "ok" for v in verdicts) else EXIT_SOURCES_FAILED
