"""The feeds folder is owned like the store: one process publishes to it at a time.

A second process publishing to the same folder from another store (`aggregator --store
other.json build` beside the daemon) would replace every live feed with that store's items;
the daemon, seeing no change in its own store, would not write them back until its next new
item. So whatever publishes (`run` for its whole life, `build` and `poll --once` for theirs)
holds an flock on `<output_dir>/.lock` whose text names the process and its store, and a
second one is refused with one line saying so (exit 3, as for a store in use).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..store import OutputError, unusable

LOCK_NAME = ".lock"  # hidden: the server only serves feeds, the OPML and its pages


class OutputClaim:
    """Held while this process may publish to `folder`; `release()` (or leaving `with`) frees it."""

    def __init__(self, folder: Path, store: str, command: str) -> None:
        self.folder = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(unusable("output_dir", folder, exc, "write feeds to")) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputError(
                f"settings.output_dir: {folder} is in use by {owner}; one store publishes to a feeds folder"
                " at a time. Stop that process, or point `output_dir` (or AGGREGATOR_OUTPUT_DIR / --output-dir)"
                " at another folder"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} (aggregator {command}, store {store})\n".encode(), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only its owner goes unnamed
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays, for the next owner
            self._fd = None

    def __enter__(self) -> OutputClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
