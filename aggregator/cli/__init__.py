"""The `aggregator` command: run the daemon, or any single step of the pipeline.

On a terminal, log lines and the progress display go through one `rich` console,
which keeps the progress line below the log instead of mixing the two.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

# The rest of the package (pydantic, httpx, TinyDB: ~0.15 s) is imported by the commands
# themselves, so `run` can install its signal handlers before any of that.
if TYPE_CHECKING:
    from ..config import Config

EXIT_OK, EXIT_SOURCES_FAILED, EXIT_CONFIG, EXIT_STORE, EXIT_PORT = 0, 1, 2, 3, 4
EXIT_BROKEN_PIPE = 141  # what a shell reports for a process ended by SIGPIPE
log = logging.getLogger("aggregator")


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR")
# Libraries that log every request or parse at INFO/DEBUG (httpcore was 84 % of a DEBUG log).
_CHATTY = ("httpx", "httpcore", "hpack", "h2", "apscheduler", "asyncio", "charset_normalizer", "trafilatura",
           "htmldate", "courlan", "justext", "urllib3", "tzlocal", "filelock")


class _OursBelowWarning(logging.Filter):
    """Below WARNING only our own records pass: DEBUG means the aggregator's debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name == "aggregator" or record.name.startswith("aggregator.")


class _NotRepeated(logging.Filter):
    """Drops records the command prints itself (a failed poll is in its summary line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "poll_failure", False)


_console = None  # the rich Console on stderr, when stderr is a terminal


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of items")
    return number


def _level_name(value: str) -> str:
    name = value.upper()
    if name not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}")
    return name


def _setup_logging(level: str) -> None:
    global _console
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        _console = Console(stderr=True)
        handler = RichHandler(console=_console, show_path=False, rich_tracebacks=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if level != "TRACE":
        handler.addFilter(_OursBelowWarning())
        for name in _CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
    handler.set_name("aggregator-cli")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "aggregator-cli":  # ours from an earlier call; others (pytest's, an embedder's) stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "TRACE" else getattr(logging, level))


def _load(path: str) -> Config:
    from ..config import load_config

    return load_config(path)


def cmd_check(args: argparse.Namespace) -> int:
    from ..config import overridden_settings

    config = _load(args.config)
    print(f"{config.path}: OK")
    for warning in config.warnings():
        print(f"  warning: {warning}")
    via = {key: f"  (from {variable})" for key, variable in overridden_settings(config).items()}
    print(f"  store:      {config.store_path}{via.get('store', '')}")
    print(f"  feeds:      {config.output_dir}  (served as {config.settings.base_url}/){via.get('output_dir', '')}")
    if config.serve.enabled:
        print(f"  serve:      http://{config.serve.host}:{config.serve.port}/ (`aggregator run`)")
    print(f"  categories: {len(config.categories)}")
    for slug, category in config.categories.items():
        rules = ""
        if category.rules:
            rules = f"  rules: +{len(category.rules.include)} -{len(category.rules.exclude)}"
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


class _Progress:
    """A progress bar on a terminal, drawn by the same rich console as the log; nothing when piped."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._progress = None
        self._task = None

    def __enter__(self) -> _Progress:
        if _console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), console=_console, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, report) -> None:  # noqa: ANN001 - PollReport
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=report.source)


def cmd_poll(args: argparse.Namespace) -> int:
    from ..config import ConfigError
    from ..fetch import fetcher_for
    from ..pipeline import cycle_line, housekeeping, poll_all, publish_from_store, reclassify_if_needed
    from ..store import Store
    from ..workers import start_workers, stop_workers

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
    with Store(config.store_path) as store, _demo_site(args, config):
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

    try:
        site = start_demo_site(port=demo_port(s.url for s in config.sources))
    except OSError as exc:  # the port is taken
        from ..serve import PortUnavailable

        raise PortUnavailable(f"{exc}; stop what uses it (a running `aggregator run --demo`?)") from None
    log.info("demo: sample site on %s", site.base_url)
    try:
        yield
    finally:
        site.stop()


def cmd_build(args: argparse.Namespace) -> int:
    from ..pipeline import publish_from_store
    from ..store import Store

    config = _load(args.config)
    with Store(config.store_path) as store:
        changed = publish_from_store(config, store)
    print(f"published {len(changed)} changed file(s) to {config.output_dir}")
    return EXIT_OK


def _ago(value: str | None, now: datetime) -> str:
    if not value:
        return "never"
    seconds = (now - datetime.fromisoformat(value)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def cmd_status(args: argparse.Namespace) -> int:
    from ..health import source_health
    from ..store import Store

    config = _load(args.config)
    # Read-only: status works while the daemon owns the store.
    with Store(config.store_path, readonly=True) as store:
        states = store.states()
        counts = store.counts_by_source()
        notify_docs = store.notify_docs() if config.notify else []
    now = datetime.now(timezone.utc)
    rows = source_health(config, states, now, counts=counts)
    header = f"{'source':<24} {'status':<12} {'items':>6} {'last poll':>10} {'last ok':>10} {'fails':>5} {'last':>5}  error"
    print(header)
    print("-" * len(header))
    for row in rows:
        error = f"{row.last_error_kind}: {row.last_error}" if row.last_error else ""
        last = "-" if row.items_last_poll is None else str(row.items_last_poll)
        print(
            f"{row.name:<24} {row.status:<12} {row.items_stored:>6} {_ago(row.last_attempt, now):>10}"
            f" {_ago(row.last_success, now):>10} {row.consecutive_failures:>5} {last:>5}  {error[:120]}"
        )
        if row.rendered:
            print(f"{'':<24} needed the browser {_ago(row.rendered_at, now)}: {row.rendered}")
    if config.notify:
        _print_notify_status(config, notify_docs, now)
    if args.explain:
        _explain_newest(config, args.explain)
    return EXIT_SOURCES_FAILED if any(row.status not in ("ok", "disabled", "never-polled") for row in rows) else EXIT_OK


def _print_notify_status(config: Config, docs: list[dict], now: datetime) -> None:
    from ..notify import notify_status

    print()
    header = f"{'notify':<24} {'status':<12} {'queued':>6} {'last sent':>10} {'fails':>5}  error"
    print(header)
    print("-" * len(header))
    for row in notify_status(config, docs):
        error = row["last_error"] or ""
        print(
            f"{row['name']:<24} {row['status']:<12} {row['pending']:>6} {_ago(row['last_sent'], now):>10}"
            f" {row['failures']:>5}  {error[:120]}"
        )


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
    from ..pipeline import stored_as_item
    from ..store import Store

    with Store(config.store_path, readonly=True) as store:
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


def _try_source(args: argparse.Namespace, config: Config):  # noqa: ANN202 - returns config.Source
    from pydantic import ValidationError

    from ..config import ConfigError, Source

    if args.source:
        if config.path is None:
            raise ConfigError("--source needs --config CONFIG")
        try:
            configured = config.source(args.source)
        except KeyError:
            raise ConfigError(f"{config.path}: no source named {args.source!r}") from None
        # The source exactly as configured (its selectors, JSON paths, network options); a URL given replaces its own.
        if args.render:
            configured = configured.model_copy(update={"render": True})
        return configured.model_copy(update={"url": args.url}) if args.url else configured
    if not args.url:
        raise ConfigError("give a URL, or --config CONFIG --source NAME")
    fields: dict[str, object] = {"name": "try", "url": args.url, "kind": args.kind}
    if args.kind == "json":
        fields["json"] = {
            k: v
            for k, v in {"items": args.items, "title": args.title, "link": args.link, "date": args.date, "summary": args.summary}.items()
            if v
        }
    elif args.item:
        fields["list"] = {
            k: v
            for k, v in {"item": args.item, "title": args.title, "link": args.link, "date": args.date, "summary": args.summary}.items()
            if v
        }
    article = {k: v for k, v in {"title": args.title if args.article else None, "date": args.date if args.article else None,
                                   "body": args.body, "source": args.origin, "author": args.author}.items() if v}
    if article:
        fields["article"] = article
    for key in ("encoding", "timezone"):
        if getattr(args, key):
            fields[key] = getattr(args, key)
    if args.no_robots:
        fields["respect_robots"] = False
    if args.render:
        fields["render"] = True
    if args.wait_for:
        fields["wait_for"] = args.wait_for
    try:
        return Source.model_validate(fields)
    except ValidationError as exc:
        problems = "\n".join(f"  --{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad options:\n{problems}") from None


def _head_and_tail(text: str, head: int = 600, tail: int = 200) -> str:
    """The start and the end of a body: where junk creeps in is the end as often as the start."""
    if len(text) <= head + tail + 40:
        return text
    return f"{text[:head]}\n  … [{len(text) - head - tail:,} characters] …\n{text[-tail:]}"


def cmd_try(args: argparse.Namespace) -> int:
    import json

    from ..config import Config, ConfigError
    from ..fetch import fetcher_for
    from ..models import SourceError
    from ..pipeline import preview

    if args.explain and not args.config:
        raise ConfigError("--explain shows which categories each item lands in: give the config with --config CONFIG")
    config = _load(args.config) if args.config else Config()
    source = _try_source(args, config)
    given: set[str] = set()
    if args.article:
        given = {key for key, value in (("title", args.title), ("date", args.date), ("body", args.body),
                                        ("source", args.origin), ("author", args.author)) if value}
    elif args.item:
        given = {"item"} | {key for key in ("title", "link", "date", "summary") if getattr(args, key)}

    async def run():  # noqa: ANN202
        async with fetcher_for(config, persist_cookies=False) as fetcher:
            return await preview(source, config, fetcher, article=args.article, given=given)

    try:
        result = asyncio.run(run())
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SOURCES_FAILED
    zone = config.zone_of(source)
    fallback = {match.field for match in result.selectors if match.fallback}
    if args.json:
        selectors = [
            {"option": m.option, "selector": m.selector, "matched": m.matched, "of": m.of, "fallback": m.fallback}
            for m in result.selectors
        ]
        if result.article is not None:
            payload: object = {**result.article, **({"selectors": selectors} if selectors else {})}
        else:
            payload = {
                "url": result.url,
                "kind": result.kind,
                "feed_url": result.feed_url,
                "frame_url": result.frame_url,
                "rendered": result.rendered,
                "chosen_selectors": result.chosen,
                "selectors": selectors,
                "items": [
                    {
                        "title": item.title,
                        "url": item.url,
                        "published": item.published.astimezone(zone).isoformat() if item.published else None,
                        "categories": list(item.categories),
                        "reasons": result.reasons.get(item.key, []),
                        "enclosures": [{"url": e.url, "type": e.type} for e in item.enclosures],
                    }
                    for item in result.items
                ],
            }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return EXIT_OK
    for match in result.selectors:
        print(match.line())
    if result.article is not None:
        for key, value in result.article.items():
            if key == "content_html" or (value is None and key in ("attachments", "content_from", "unreadable")):
                continue
            shown = value if key != "content_text" or value is None else _head_and_tail(value)
            field = "content" if key == "content_text" else key
            mark = "  (fallback: its selector matched nothing)" if field in fallback and value else ""
            print(f"{key:>13}: {shown}{mark}")
        if result.rendered:
            print(f"{'browser':>13}: {result.rendered}")
        return EXIT_OK
    print(f"{result.kind} {result.url}: {len(result.items)} items")
    if result.rendered:
        print(f"read in the browser: {result.rendered}")
    if result.frame_url:
        print(f"the page's own list is empty; read from its iframe: {result.frame_url}")
    if result.feed_url:
        print(f"the page links a feed: {result.feed_url}  (kind = \"feed\" would use it)")
    for item in result.items:
        when = item.published.astimezone(zone).isoformat() if item.published else "no date"
        marks = {name: "  (fallback)" if name in fallback else "" for name in ("title", "url", "published")}
        print(
            f"- {item.title}{marks['title']}\n    {item.url}{marks['url']}\n"
            f"    {when}{marks['published']}  [{', '.join(item.categories) or '-'}]"
        )
        for enclosure in item.enclosures:
            print(f"    enclosure: {enclosure.url} ({enclosure.type}; a poll reads PDF/DOCX text)")
        if args.explain:
            for reason in result.reasons.get(item.key, []):
                print(f"      {reason}")
    if result.chosen:
        print("\nNo selectors given; this is what was detected. Paste into the source to pin it:\n")
        print(result.chosen)
    return EXIT_OK if result.items else EXIT_SOURCES_FAILED


_early_signals: list[int] = []


def _catch_early_signals() -> None:
    """Before anything slow (imports, the store, the first publish): without a handler a SIGHUP
    (`systemctl reload` right after start) would end the process. Replayed once the daemon is up."""
    import signal

    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: _early_signals.append(signum))


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
                               "why": e.why or None, "verified": e.verified, "evidence": e.evidence_source} for e in chosen],
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


def cmd_run(args: argparse.Namespace) -> int:
    log.info("starting (pid %d) with %s", os.getpid(), args.config)
    from ..scheduler import run_daemon

    return run_daemon(args.config, demo=args.demo, early_signals=_early_signals)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aggregator", description=__doc__)
    parser.add_argument(
        "--log-level", default="INFO", type=_level_name,
        help="TRACE (also the libraries' debug output), DEBUG, INFO, WARNING or ERROR (default INFO)",
    )
    parser.add_argument(
        "--store", metavar="PATH", help="store file, overriding the config's `store` (also: AGGREGATOR_STORE)"
    )
    parser.add_argument(
        "--output-dir", metavar="DIR", help="feeds directory, overriding `output_dir` (also: AGGREGATOR_OUTPUT_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon: poll on schedule, publish, serve feeds over HTTP")
    run.add_argument("config")
    run.add_argument(
        "--demo", action="store_true", help="also serve the bundled sample site on 127.0.0.1 (works offline)"
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a config and print the sources and categories it defines")
    check.add_argument("config")
    check.set_defaults(func=cmd_check)

    poll = sub.add_parser("poll", help="poll sources, update the store and publish feeds")
    poll.add_argument("config")
    poll.add_argument("--once", action="store_true", required=True, help="poll every source once and exit")
    poll.add_argument("--source", action="append", help="poll only this source (repeatable)")
    poll.add_argument("--demo", action="store_true", help="serve the bundled sample site while polling (offline)")
    poll.set_defaults(func=cmd_poll)

    build = sub.add_parser("build", help="rebuild the feeds from the store without fetching")
    build.add_argument("config")
    build.add_argument(
        "--demo", action="store_true", help="accepted for symmetry with run/poll: build fetches nothing, so needs no site"
    )
    build.set_defaults(func=cmd_build)

    trial = sub.add_parser("try", help="fetch one page and print what would be extracted from it")
    trial.add_argument("url", nargs="?", help="the page (optional with --source)")
    trial.add_argument("--source", help="try this source of --config as configured")
    trial.add_argument("--article", action="store_true", help="treat the page as one article")
    trial.add_argument("--json", action="store_true", help="machine-readable output")
    trial.add_argument("--config", help="classify with this config's categories and rules")
    trial.add_argument("--explain", action="store_true", help="print why each item lands in its categories")
    trial.add_argument("--kind", choices=["feed", "html", "auto", "json"], default="auto")
    trial.add_argument("--items", help="json: JMESPath of the list of items (--title/--link/--date/--summary are JMESPath too)")
    trial.add_argument("--item", help="list: CSS selector of one item")
    trial.add_argument("--title", help="list or article: title selector (`@attr` reads an attribute)")
    trial.add_argument("--link", help="list: link selector (default a@href)")
    trial.add_argument("--date", help="list or article: date selector")
    trial.add_argument("--summary", help="list: summary selector")
    trial.add_argument("--body", help="article: body selector")
    trial.add_argument("--origin", help="article: 来源 selector")
    trial.add_argument("--author", help="article: 作者 selector")
    trial.add_argument("--encoding", help="override the page's charset, e.g. gb18030")
    trial.add_argument("--timezone", help="for dates without a zone (default Asia/Shanghai)")
    trial.add_argument("--no-robots", action="store_true", help="ignore robots.txt for this page")
    trial.add_argument("--render", action="store_true", help="load the page in the headless browser (render = true)")
    trial.add_argument("--wait-for", help="with --render: the page is ready once this CSS selector matches")
    trial.set_defaults(func=cmd_try)

    status = sub.add_parser("status", help="show the health of every source")
    status.add_argument("config")
    status.add_argument(
        "--explain", type=_positive, metavar="N", default=0,
        help="also show the N newest items and why they are in their feeds",
    )
    status.set_defaults(func=cmd_status)

    cat = sub.add_parser("catalog", help="the built-in catalog of environment authorities' columns")
    cat.set_defaults(func=cmd_catalog)
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True)
    listing = cat_sub.add_parser("list", help="a table of the entries: id, authority, column, kind, needs-browser, verified")
    listing.add_argument("--province", help="e.g. 浙江 (or the id prefix, zj)")
    listing.add_argument("--category", help="ecology, enforcement, inspection, policy or notice")
    listing.add_argument("--search", help="text in the id, authority, column, URL or evidence, e.g. 执法")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    showing = cat_sub.add_parser("show", help="an entry expanded, as the [[sources]] TOML it stands for")
    showing.add_argument("id")
    adding = cat_sub.add_parser("add", help="append entries to a config, keeping its comments and layout")
    adding.add_argument("ids", nargs="+", metavar="ID")
    adding.add_argument("--config", required=True, help="the config file to change (checked before it is written)")
    verifying = cat_sub.add_parser("verify", help="poll entries once, without any store, and say what each gives")
    verifying.add_argument("ids", nargs="*", metavar="ID")
    verifying.add_argument("--all", action="store_true", help="every entry of the catalog")
    verifying.add_argument("--config", help="use this config's settings; without ids, verify its catalog/preset sources")
    verifying.add_argument("--json", action="store_true", help="machine-readable output")
    notify = sub.add_parser("notify", help="notification targets ([[notify]] in the config)")
    notify_sub = notify.add_subparsers(dest="action", required=True)
    notify_test = notify_sub.add_parser("test", help="send a test message to one target now")
    notify_test.add_argument("name", help="the target's name")
    notify_test.add_argument("config")
    notify_test.set_defaults(func=cmd_notify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        _catch_early_signals()
    _setup_logging(args.log_level)
    # Through the environment, so a reload of the config by the daemon keeps them.
    if args.store:
        os.environ["AGGREGATOR_STORE"] = str(Path(args.store).expanduser().absolute())
    if args.output_dir:
        os.environ["AGGREGATOR_OUTPUT_DIR"] = str(Path(args.output_dir).expanduser().absolute())
    from ..config import ConfigError
    from ..serve import PortUnavailable
    from ..store import OutputError, StoreError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OutputError as exc:
        print(f"feeds error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except PortUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PORT
    except StoreError as exc:
        print(f"store error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `aggregator status CONFIG | head`: the reader left; say nothing more, anywhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE

