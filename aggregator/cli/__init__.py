"""The `aggregator` command: run the daemon, or any single step of the pipeline.

On a terminal, log lines and the progress display go through one `rich` console,
which keeps the progress line below the log instead of mixing the two.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# The rest of the package (pydantic, httpx, TinyDB: ~0.15 s) is imported by the commands
# themselves, so `run` can install its signal handlers before any of that. The command
# modules import only the standard library at their top.
from .cases import add_parser as add_cases_parser
from .cases import cmd_cases
from .catalog import cmd_catalog
from .common import (
    EXIT_BROKEN_PIPE,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_PORT,
    EXIT_SOURCES_FAILED,
    EXIT_STORE,
    LOG_LEVELS,
    _setup_logging,
    log,
)
from .status import cmd_notify, cmd_status
from .steps import cmd_build, cmd_check, cmd_poll
from .store import cmd_store
from .trial import cmd_try

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_CONFIG",
    "EXIT_OK",
    "EXIT_PORT",
    "EXIT_SOURCES_FAILED",
    "EXIT_STORE",
    "build_parser",
    "cmd_build",
    "cmd_cases",
    "cmd_catalog",
    "cmd_check",
    "cmd_notify",
    "cmd_poll",
    "cmd_run",
    "cmd_status",
    "cmd_store",
    "cmd_try",
    "main",
]


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of items")
    return number


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: use a number from 1 to 65535")
    return int(value)


_DEMO_PORT_HELP = (
    "with --demo: serve the sample site on this port instead of 8765 (also: AGGREGATOR_DEMO_PORT); the config's"
    " sources on 127.0.0.1:8765 follow it"
)


def _level_name(value: str) -> str:
    name = value.upper()
    if name not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}")
    return name


_early_signals: list[int] = []


def _catch_early_signals() -> None:
    """Before anything slow (imports, the store, the first publish): without a handler a SIGHUP
    (`systemctl reload` right after start) would end the process. Replayed once the daemon is up."""
    import signal

    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: _early_signals.append(signum))


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
        "--store", metavar="PATH|URL",
        help="the store: a TinyDB path or a postgresql:// URL, overriding the config's `store` (also: AGGREGATOR_STORE)"
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
    run.add_argument("--demo-port", type=_port, metavar="PORT", help=_DEMO_PORT_HELP)
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a config and print the sources and categories it defines")
    check.add_argument("config")
    check.set_defaults(func=cmd_check)

    poll = sub.add_parser("poll", help="poll sources, update the store and publish feeds")
    poll.add_argument("config")
    poll.add_argument("--once", action="store_true", required=True, help="poll every source once and exit")
    poll.add_argument("--source", action="append", help="poll only this source (repeatable)")
    poll.add_argument("--demo", action="store_true", help="serve the bundled sample site while polling (offline)")
    poll.add_argument("--demo-port", type=_port, metavar="PORT", help=_DEMO_PORT_HELP)
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
    trial.add_argument("--kind", default="auto", help="feed, html, json, auto (the default) or another registered reader's kind")
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
    adding = cat_sub.add_parser(
        "add", help="append entries to a config, keeping its comments and layout",
        description="Append the entries named, or every entry the filters choose (as `catalog list` chooses them), to"
        " a config; e.g. `aggregator catalog add --category enforcement --config my.toml` for one nationwide"
        " enforcement feed. Ids and filters do not mix. Exit 1 when the filters match nothing.",
    )
    adding.add_argument("ids", nargs="*", metavar="ID")
    adding.add_argument("--category", help="every entry of this category: ecology, enforcement, inspection, policy or notice")
    adding.add_argument("--province", help="only entries of this province, e.g. 浙江 (or the id prefix, zj)")
    adding.add_argument("--search", help="only entries with this text in the id, authority, column, URL or evidence")
    adding.add_argument("--no-browser", action="store_true", help="leave out entries that need the browser (needs-browser in `catalog list`)")
    adding.add_argument("--config", required=True, help="the config file to change (checked before it is written)")
    verifying = cat_sub.add_parser("verify", help="poll entries once, without any store, and say what each gives")
    verifying.add_argument("ids", nargs="*", metavar="ID")
    verifying.add_argument("--all", action="store_true", help="every entry of the catalog")
    verifying.add_argument("--config", help="use this config's settings; without ids, verify its catalog/preset sources")
    verifying.add_argument("--json", action="store_true", help="machine-readable output")
    evidence = cat_sub.add_parser(
        "evidence", help="a `catalog verify --json` report as the evidence lines of the entries it shows working",
        description="Print, for each entry of a `catalog verify --json` report that gave items from the catalog's own"
        " URL, the `evidence = { kind = \"live-check\", … }` line for its data file. Edits no file. Exit 1 when no"
        " entry of the report counts.",
    )
    evidence.add_argument("file", metavar="FILE.json")
    store = sub.add_parser("store", help="the store itself: move it between TinyDB and PostgreSQL")
    store_sub = store.add_subparsers(dest="store_command", required=True)
    moving = store_sub.add_parser(
        "migrate", help="copy every item, body, tombstone, poll state and notification into an empty store, then check",
        description=(
            "Copy a whole store into a new, empty one (TinyDB <-> PostgreSQL, or to another path), then compare"
            " every table on both sides (record counts and a sha256). Stop the daemon first: both stores are"
            " locked while copying. FROM is never written. Exit 0 when every table matches, 1 when a table"
            " differs, 3 when a store cannot be opened (missing, in use, not empty, database down)."
            " Example: aggregator store migrate state/store.json env:AGGREGATOR_DB"
        ),
    )
    moving.add_argument("source", metavar="FROM", help="a store path, a postgresql:// URL, or env:NAME")
    moving.add_argument("target", metavar="TO", help="an empty (or new) store: path, URL or env:NAME")
    moving.set_defaults(func=cmd_store)
    add_cases_parser(sub)
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
    if getattr(args, "demo_port", None) and not args.demo:
        parser.error("--demo-port moves the sample site of --demo: give --demo too")
    if args.command == "run":
        _catch_early_signals()
    _setup_logging(args.log_level)
    # Through the environment, so a reload of the config by the daemon keeps them.
    if args.store:
        from ..config.loading import as_location

        os.environ["AGGREGATOR_STORE"] = as_location(args.store)
    if args.output_dir:
        os.environ["AGGREGATOR_OUTPUT_DIR"] = str(Path(args.output_dir).expanduser().absolute())
    if getattr(args, "demo_port", None):
        os.environ["AGGREGATOR_DEMO_PORT"] = str(args.demo_port)
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
