"""The store's errors, and the one-line message when the store or feeds directory is unusable."""

from __future__ import annotations

import errno
from pathlib import Path


class StoreError(Exception):
    """The store cannot be opened or written; the message says why."""


class StoreLocked(StoreError):
    pass


STAGED_KEPT = "nothing staged is lost"  # true while the process runs and retries; not once it stops


def unwritten_at_exit(exc: StoreError) -> StoreError:
    """The same failure when stopping: what was staged goes with the process, so say that instead."""
    cause = str(exc).split(STAGED_KEPT)[0].rstrip(" :;,")
    return StoreError(
        f"{cause}. Stopped with the last polls' changes unwritten: they are not kept, and the next polls"
        " fetch again what the sites still list"
    )


class OutputError(StoreError):
    """The feeds directory cannot be written; same exit code as the store, named apart."""


def unusable(setting: str, path: Path, exc: OSError, what: str) -> str:
    """One line: the setting, the path, what failed and how to fix it."""
    where = Path(exc.filename) if exc.filename else path
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        return (
            f"settings.{setting}: cannot {what} {path} ({where}: {reason}); free space on that disk:"
            f" {STAGED_KEPT}, and it is written once there is room"
        )
    if exc.errno == errno.EROFS:
        return f"settings.{setting}: cannot {what} {path} ({where}: {reason}); remount it read-write, or point `{setting}` elsewhere"
    return (
        f"settings.{setting}: cannot {what} {path} ({where}: {reason}); point `{setting}` (or"
        f" {'AGGREGATOR_STORE / --store' if setting == 'store' else 'AGGREGATOR_OUTPUT_DIR / --output-dir'})"
        " at a directory this user can write"
    )
