"""Atomic file replacement, shared by the store and the feeds.

Readers (feed readers, the HTTP server, a restarted daemon) must only ever
see a complete old file or a complete new one, even after `kill -9`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def replace_file(path: Path, data: bytes, *, mode: int = 0o644, sync_directory: bool = True) -> None:
    """Temp file in the same directory, fsync, rename, fsync the directory.

    `sync_directory=False` leaves the last step to the caller, who writes many
    files into one directory and calls `fsync_directory` once.
    """
    replace_file_with(path, lambda handle: handle.write(data), mode=mode, sync_directory=sync_directory)


def replace_file_with(
    path: Path, write: Callable[[BinaryIO], object], *, mode: int = 0o644, sync_directory: bool = True
) -> None:
    """replace_file for content written piece by piece (no whole-file buffer in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; feeds are meant to be read by a web server.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        # Whatever went wrong (even Ctrl-C), leave no temp file behind, then re-raise.
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if sync_directory:
        fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """The renames into `directory` survive a crash only once it is synced."""
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)



def replace_if_changed(path: Path, data: bytes) -> bool:
    """Like replace_file, but False (file untouched) when it already holds `data`.

    Leaving identical files alone keeps their mtime, so HTTP validators stay valid.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    replace_file(path, data)
    return True
