"""The `aggregator` command: run the daemon, or any single step of the pipeline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from .config import Config, ConfigError, load_config
from .fetch import fetcher_for
from .store import Store, StoreError

EXIT_OK, EXIT_SOURCES_FAILED, EXIT_CONFIG, EXIT_STORE = 0, 1, 2, 3
log = logging.getLogger("aggregator")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; that drowns the events users care about.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _load(path: str) -> Config:
    return load_config(path)


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    print(f"{config.path}: OK")
    print(f"  store:      {config.store_path}")
    print(f"  feeds:      {config.output_dir}  (served as {config.settings.base_url}/)")
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
    return EXIT_OK


class _Progress:
    """One updating line on a terminal; nothing when output is piped."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.tty = total, 0, sys.stderr.isatty()

    def __call__(self, report) -> None:  # noqa: ANN001 - PollReport
        self.done += 1
        if self.tty:
            sys.stderr.write(f"\r\033[K[{self.done}/{self.total}] {report.line()[:100]}")
            sys.stderr.flush()
            if self.done == self.total:
                sys.stderr.write("\n")


def cmd_poll(args: argparse.Namespace) -> int:
    from .pipeline import housekeeping, poll_all, publish_from_store, start_workers, stop_workers

    config = _load(args.config)
    sources = config.sources
    if args.source:
        unknown = sorted(set(args.source) - {s.name for s in config.sources})
        if unknown:
            raise ConfigError(f"{config.path}: no source named {', '.join(unknown)}")
        sources = [s for s in config.sources if s.name in args.source]

    async def run() -> list:
        async with fetcher_for(config) as fetcher:
            return await poll_all(config, store, fetcher, sources, on_done=_Progress(len(sources)))

    with Store(config.store_path) as store:
        start_workers(config.worker_count())
        try:
            reports = asyncio.run(run())
        finally:
            stop_workers()
        housekeeping(config, store, datetime.now(timezone.utc))
        changed = publish_from_store(config, store)
    for report in reports:
        print(report.line())
    print(f"published {len(changed)} changed file(s) to {config.output_dir}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_SOURCES_FAILED


def cmd_build(args: argparse.Namespace) -> int:
    from .pipeline import publish_from_store

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
    from .health import source_health

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
    if config.notify:
        _print_notify_status(config, notify_docs, now)
    if args.explain:
        _explain_newest(config, args.explain)
    return EXIT_SOURCES_FAILED if any(row.status not in ("ok", "disabled", "never-polled") for row in rows) else EXIT_OK


def _print_notify_status(config: Config, docs: list[dict], now: datetime) -> None:
    from .notify import notify_status

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
    from .notify import NotifyError, send, test_message

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
    """Why the newest items are in their feeds, by the current rules."""
    from .classify import classify
    from .models import Item

    with Store(config.store_path, readonly=True) as store:
        newest = store.newest({"all": count})["all"]
    print(f"\nthe {len(newest)} newest items, and why they are where they are:")
    for stored in newest:
        try:
            source = config.source(stored.source)
        except KeyError:
            print(f"- {stored.title}\n    source {stored.source!r} is no longer in the config")
            continue
        item = Item(
            key=stored.key, source=stored.source, url=stored.url, title=stored.title,
            published=stored.published, updated=stored.updated, origin=stored.origin,
            summary_html=stored.summary_html, content_html=stored.content_html,
        )
        verdict = classify(item, source, config)
        print(f"- {stored.title}  [{', '.join(stored.categories) or '-'}]\n    {stored.url}")
        for reason in verdict.reasons or ["no category: the source has none and no rule matched"]:
            print(f"      {reason}")


def _try_source(args: argparse.Namespace, config: Config):  # noqa: ANN202 - returns config.Source
    from pydantic import ValidationError

    from .config import Source

    fields: dict[str, object] = {"name": "try", "url": args.url, "kind": args.kind}
    if args.item:
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
    try:
        return Source.model_validate(fields)
    except ValidationError as exc:
        problems = "\n".join(f"  --{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"bad options:\n{problems}") from None


def cmd_try(args: argparse.Namespace) -> int:
    import json

    from .config import Config
    from .models import SourceError
    from .pipeline import preview

    config = _load(args.config) if args.config else Config()
    source = _try_source(args, config)

    async def run():  # noqa: ANN202
        async with fetcher_for(config, persist_cookies=False) as fetcher:
            return await preview(source, config, fetcher, article=args.article)

    try:
        result = asyncio.run(run())
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SOURCES_FAILED
    zone = config.zone_of(source)
    if args.json:
        if result.article is not None:
            payload: object = result.article
        else:
            payload = {
                "url": result.url,
                "kind": result.kind,
                "feed_url": result.feed_url,
                "chosen_selectors": result.chosen,
                "items": [
                    {
                        "title": item.title,
                        "url": item.url,
                        "published": item.published.astimezone(zone).isoformat() if item.published else None,
                        "categories": list(item.categories),
                        "reasons": result.reasons.get(item.key, []),
                    }
                    for item in result.items
                ],
            }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return EXIT_OK
    if result.article is not None:
        for key, value in result.article.items():
            if key == "content_html":
                continue
            shown = value if key != "content_text" or value is None else (value[:600] + ("…" if len(value) > 600 else ""))
            print(f"{key:>13}: {shown}")
        return EXIT_OK
    print(f"{result.kind} {result.url}: {len(result.items)} items")
    if result.feed_url:
        print(f"the page links a feed: {result.feed_url}  (kind = \"feed\" would use it)")
    for item in result.items:
        when = item.published.astimezone(zone).isoformat() if item.published else "no date"
        print(f"- {item.title}\n    {item.url}\n    {when}  [{', '.join(item.categories) or '-'}]")
        if args.explain:
            for reason in result.reasons.get(item.key, []):
                print(f"      {reason}")
    if result.chosen:
        print("\nNo selectors given; this is what was detected. Paste into the source to pin it:\n")
        print(result.chosen)
    return EXIT_OK if result.items else EXIT_SOURCES_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    from .scheduler import run_daemon

    return run_daemon(args.config, demo=args.demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aggregator", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
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
    poll.set_defaults(func=cmd_poll)

    build = sub.add_parser("build", help="rebuild the feeds from the store without fetching")
    build.add_argument("config")
    build.set_defaults(func=cmd_build)

    trial = sub.add_parser("try", help="fetch one page and print what would be extracted from it")
    trial.add_argument("url")
    trial.add_argument("--article", action="store_true", help="treat the page as one article")
    trial.add_argument("--json", action="store_true", help="machine-readable output")
    trial.add_argument("--config", help="classify with this config's categories and rules")
    trial.add_argument("--explain", action="store_true", help="print why each item lands in its categories")
    trial.add_argument("--kind", choices=["feed", "html", "auto"], default="auto")
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
    trial.set_defaults(func=cmd_try)

    status = sub.add_parser("status", help="show the health of every source")
    status.add_argument("config")
    status.add_argument(
        "--explain", type=int, metavar="N", default=0, help="also show the N newest items and why they are in their feeds"
    )
    status.set_defaults(func=cmd_status)

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
    _setup_logging(args.log_level)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"store error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
