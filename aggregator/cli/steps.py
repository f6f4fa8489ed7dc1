"""`check`, `poll --once` and `build`: the pipeline's steps run once from the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .common import EXIT_OK, EXIT_SOURCES_FAILED, _load, _NotRepeated, _Progress, log

# The rest of the package is imported inside the commands (see __init__.py).
if TYPE_CHECKING:
    from ..config import Config


def cmd_check(args: argparse.Namespace) -> int:
    from ..config import overridden_settings

    config = _load(args.config)
    print(f"{config.path}: OK")
    for warning in config.warnings():
        print(f"  warning: {warning}")
    via = {key: f"  (from {variable})" for key, variable in overridden_settings(config).items()}
    print(f"  store:      {config.store_display}{via.get('store', '')}")
    print(f"  feeds:      {config.output_dir}  (served as {config.settings.base_url}/){via.get('output_dir', '')}")
    if config.serve.enabled:
        print(f"  serve:      http://{config.serve.host}:{config.serve.port}/ (`aggregator run`)")
    print(f"  categories: {len(config.categories)}")
    for slug, category in config.categories.items():
        rules = ""
        if category.rules:  # several rule sets: any one takes an item
            rules = "  rules: " + " | ".join(rule_set.describe() for rule_set in category.rules)
        print(f"    {slug:<16} {category.title}{rules}")
    print(f"  sources:    {len(config.sources)}")
    for source in config.sources:
        interval = config.interval_of(source)
        flags = "" if source.enabled else "  (disabled)"
        cats = ",".join(source.categories) or "-"
        print(f"    {source.name:<24} {source.kind:<5} every {interval / 60:g}m  [{cats}]  {source.url}{flags}")
        if source.catalog or source.preset:
            from ..catalog.edit import describe

            print(f"      {describe(source)}")
    return EXIT_OK


def cmd_poll(args: argparse.Namespace) -> int:
    from ..config import ConfigError
    from ..fetch import fetcher_for
    from ..classify import reclassify_if_needed
    from ..pipeline import cycle_line, housekeeping, poll_all, publish_from_store
    from ..publish.claim import OutputClaim
    from ..store import open_store
    from ..infra.workers import start_workers, stop_workers

    config = _load(args.config)
    sources = config.sources
    if args.source:
        unknown = sorted(set(args.source) - {s.name for s in config.sources})
        if unknown:
            raise ConfigError(f"{config.path}: no source named {', '.join(unknown)}")
        sources = [s for s in config.sources if s.name in args.source]

    async def run() -> list:
        async with fetcher_for(config) as fetcher:
            with _Progress(len(sources)) as progress:
                return await poll_all(config, store, fetcher, sources, on_done=progress)

    started = time.monotonic()
    # Each failure is in the summary below; logging it as well would print it twice.
    quiet = _NotRepeated()
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
    # The feeds folder first: refused (another store's daemon publishes there) before anything is fetched.
    with OutputClaim(config.output_dir, config.store_display, "poll --once"), open_store(config.store_location) as store, \
            _demo_site(args, config):
        reclassify_if_needed(config, store)  # items stored before a config change, before new ones join
        start_workers(config.worker_count())
        try:
            reports = asyncio.run(run())
        finally:
            stop_workers()
        housekeeping(config, store, datetime.now(timezone.utc))
        changed = publish_from_store(config, store)
    log.info("%s", cycle_line(reports, time.monotonic() - started))
    for report in reports:
        print(report.line())
    print(f"published {len(changed)} changed file(s) to {config.output_dir}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_SOURCES_FAILED


@contextlib.contextmanager
def _demo_site(args: argparse.Namespace, config: Config) -> Iterator[None]:
    """With --demo: the bundled sample site, served while the command runs."""
    if not getattr(args, "demo", False):
        yield
        return
    from ..demo import demo_port, start_demo_site

    site = start_demo_site(port=demo_port(s.url for s in config.sources))  # a busy port: PortUnavailable, exit 4
    log.info("demo: sample site on %s", site.base_url)
    try:
        yield
    finally:
        site.stop()


def cmd_build(args: argparse.Namespace) -> int:
    from ..pipeline import publish_from_store
    from ..publish.claim import OutputClaim
    from ..store import open_store

    config = _load(args.config)
    with OutputClaim(config.output_dir, config.store_display, "build"), open_store(config.store_location) as store:
        changed = publish_from_store(config, store)
    print(f"published {len(changed)} changed file(s) to {config.output_dir}")
    return EXIT_OK
