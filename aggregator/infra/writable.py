"""Whether a directory can be written now, and a write that keeps failing said once a minute.

`status` (a process of its own) and the daemon's /status ask `write_problem` about the store's
and the feeds folder's directories, so a full or read-only disk shows there instead of "ok". The
daemon's store commits and publishes report to one `Trouble` each: a full disk is one ERROR line
when it starts, again at most once a minute, and one INFO line when the
write works again, not a line per retry for hours.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import time
from pathlib import Path

PROBE_BYTES = 4096  # one page: a disk with no room for it cannot take a feed or a store file either
REPEAT_EVERY = 60.0


def write_problem(directory: Path, *, writer: bool = True) -> OSError | None:
    """None if a small file can be written in `directory` (or, while it does not exist yet, in the
    nearest existing folder above it, where it would be created); else the error it gave.

    `writer=False`: asked for another process (`status` about the daemon's folders), which may run
    as another user: a permission error then counts only in a folder this user owns.
    """
    where = directory
    while not where.is_dir() and where.parent != where:
        where = where.parent
    try:
        fd, name = tempfile.mkstemp(dir=where, prefix=".write-probe.", suffix=".tmp")
    except OSError as exc:
        if not writer and exc.errno in (errno.EACCES, errno.EPERM) and _owner(where) != os.geteuid():
            return None
        return exc
    try:
        os.write(fd, b"\0" * PROBE_BYTES)  # tmpfs and ext4 refuse it here when full, no fsync needed
    except OSError as exc:
        return exc
    finally:
        os.close(fd)
        os.unlink(name)
    return None


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


class Trouble:
    """One condition that makes writes fail (the store, the feeds folder), said without flooding the log."""

    def __init__(self, log: logging.Logger, recovered: str, every: float = REPEAT_EVERY) -> None:
        self._log = log
        self._recovered = recovered  # the INFO line when writing works again
        self._every = every
        self.error: str | None = None  # the reason, while the last write failed
        self._said = 0.0

    def failed(self, message: str) -> None:
        now = time.monotonic()
        # Not again for a changed message: a temp file's random name in it would say it every retry.
        if self.error is None or now - self._said >= self._every:
            self._log.error("%s (retrying; said again at most once a minute)", message)
            self._said = now
        self.error = message

    def cleared(self) -> None:
        if self.error is not None:
            self._log.info("%s", self._recovered)
            self.error = None
