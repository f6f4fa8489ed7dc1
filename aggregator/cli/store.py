"""`store migrate FROM TO`: move a store between TinyDB and PostgreSQL (or to a new path), checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import EXIT_OK

EXIT_MISMATCH = 1


def _location(value: str) -> str | Path:
    """A path, a postgresql:// URL, or env:NAME holding either, checked as the `store` setting is."""
    from ..config.models import locate_store, store_setting_problem
    from ..store import StoreError

    problem = store_setting_problem(value)
    if problem:
        raise StoreError(problem)
    return locate_store(value, Path.cwd())


def cmd_store(args: argparse.Namespace) -> int:
    from ..config.models import redact_url
    from ..store.migrate import migrate

    source, target = _location(args.source), _location(args.target)
    print(f"copying {redact_url(str(source))} -> {redact_url(str(target))}", flush=True)
    checks = migrate(source, target, progress=lambda n: print(f"  {n:,} records copied", flush=True))
    print(f"{'table':<10} {'from':>10} {'to':>10}  check")
    for check in checks:
        verdict = "same records (sha256)" if check.matches else "DIFFERENT"
        print(f"{check.table:<10} {check.source_count:>10,} {check.target_count:>10,}  {verdict}")
    if all(check.matches for check in checks):
        print(f"done: point `store` at {redact_url(str(target))} (the old store is unchanged)")
        return EXIT_OK
    print("the copy differs from the original: keep using the old store, and report this", file=sys.stderr)
    return EXIT_MISMATCH
