"""The worker processes that parse pages beside the event loop.

Parsing is the CPU-heavy part of a poll; run in processes it leaves the event
loop free to fetch and serve, and a pathological page cannot stall every other
poll. concurrent.futures' pool is used as it is; what is hand-written here is
what it lacks: killing a pool (shutdown() waits for a running parse), workers
that die with a parent killed by SIGKILL, and retrying a parse alone after a
worker crash.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from ..models import ErrorKind, SourceError

T = TypeVar("T")


_workers: ProcessPoolExecutor | None = None


def _exit_with(parent: int) -> None:
    """Worker initializer: never outlive the process that started the pool, kill -9 included.

    Workers hold both ends of their task queue's pipe, so they would never see EOF and
    would wait forever as orphans; they watch the parent's pid instead.

    Ctrl-C sends SIGINT to the terminal's whole process group: a worker would die with a
    KeyboardInterrupt traceback. Workers ignore it; the daemon stops (kills) them itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        try:
            select.select([os.pidfd_open(parent)], [], [])  # readable once the parent has exited
        except (AttributeError, OSError):  # no pidfd (old kernel): poll
            while True:
                time.sleep(1.0)
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    break
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def start_workers(count: int) -> None:
    """Parse in `count` processes (0: in the event loop's own thread)."""
    global _workers
    stop_workers()
    if count > 0:
        _workers = _new_pool(count)


def stop_workers() -> None:
    global _workers
    if _workers is not None:
        _kill(_workers)
        _workers = None


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: shutdown() alone lets a running parse finish, and exit waits for it."""
    processes = list((pool._processes or {}).values())  # noqa: SLF001 - the pool exposes no kill
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()


def _renew(pool: ProcessPoolExecutor) -> None:
    """Replace `pool` with a fresh one, unless that already happened (parses fail together)."""
    global _workers
    if _workers is pool:
        size = pool._max_workers  # noqa: SLF001 - the pool keeps its size only there
        _kill(pool)
        _workers = None
        start_workers(size)


def _new_pool(size: int) -> ProcessPoolExecutor:
    # forkserver: workers start from a clean process, not a fork of threads and sockets.
    return ProcessPoolExecutor(
        size,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )


async def parse(function: Callable[..., T], *args: object) -> T:
    pool = _workers
    if pool is None:
        return function(*args)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool, function, *args)
    except asyncio.CancelledError:
        # The poll's time limit gave up on this page, but the worker is still parsing it
        # and every later page would queue behind it.
        _renew(pool)
        raise
    except BrokenProcessPool:
        # A worker died (out of memory, a crash in a parser) and took every parse in flight
        # with it. Each is retried in a process of its own, so the page that crashes
        # parsers fails alone.
        _renew(pool)
    alone = _new_pool(1)
    try:
        return await loop.run_in_executor(alone, function, *args)
    except BrokenProcessPool:
        raise SourceError(ErrorKind.PARSE, "the page crashed the parser process") from None
    finally:
        _kill(alone)
