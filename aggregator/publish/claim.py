"""The feeds folder is owned like the store: one process publishes to it at a time.

A second process publishing to the same folder from another store (`aggregator --store
other.json build` beside the daemon) would replace every live feed with that store's items;
the daemon, seeing no change in its own store, would not write them back until its next new
item. So whatever publishes (`run` for its whole life, `build` and `poll --once` for theirs)
holds an flock on `<output_dir>/.lock` whose text names the process and its store, and a
second one is refused with one line saying so (exit 3, as for a store in use).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from pathlib import Path

from ..store import OutputError, unusable

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
PASSING = {errno.EROFS, errno.ENOSPC, errno.EDQUOT}  # a disk that is full or read-only for now: polling goes on  # hidden: the server only serves feeds, the OPML and its pages


class OutputClaim:
    """Held while this process may publish to `folder`; `release()` (or leaving `with`) frees it.

    A folder that cannot be written for now (a read-only or full disk) is not refused: polling
    goes on and the publisher retries, as for any write that fails. The lock is then taken
    on the existing `.lock` opened for reading (flock needs no write access), or, when there
    is none and none can be made, not at all until the process starts again.
    """

    def __init__(self, folder: Path, store: str, command: str) -> None:
        self.folder = folder
        self.unlocked_because: str | None = None  # why no lock is held (the folder cannot be written)
        self._fd: int | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno not in PASSING:  # a wrong path or permissions: the config's to fix, now
                raise OutputError(unusable("output_dir", folder, exc, "write feeds to")) from None
            try:
                fd = os.open(folder / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self.unlocked_because = unusable("output_dir", folder, exc, "write feeds to")
                log.warning("%s; publishing is tried again until it can, with no lock on the folder", self.unlocked_because)
                return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            if f"store {store})" in owner:  # the same store: the store's own rule is the one to state
                raise OutputError(
                    f"the store {store} and its feeds folder {folder} are in use by {owner}; one process owns"
                    " a store at a time. Stop it first (`build` and `poll --once` are for when the daemon is not running)"
                ) from None
            raise OutputError(
                f"settings.output_dir: {folder} is in use by {owner}; one store publishes to a feeds folder"
                " at a time. Stop that process, or point `output_dir` (or AGGREGATOR_OUTPUT_DIR / --output-dir)"
                " at another folder"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} (aggregator {command}, store {store})\n".encode(), 0)
        except OSError:
            pass  # a full or read-only disk: the lock holds all the same, only its owner goes unnamed
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays, for the next owner
            self._fd = None

    def __enter__(self) -> OutputClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
