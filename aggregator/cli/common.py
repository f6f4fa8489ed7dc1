"""What every command shares: exit codes, the log (one rich console on a terminal, with
the progress bar of `poll`), and loading the config.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

# The rest of the package is imported inside the functions (see __init__.py).
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


class _SkippedRun(logging.Filter):
    """APScheduler's WARNING 'Execution of job "name (trigger: …)" skipped: maximum number of running
    instances reached (1)', said in our words: a poll outlasting its interval is worth a line, not an alarm."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" not in str(record.msg):
            return True
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        name = getattr(job, "name", None) or "a source"
        logging.getLogger("aggregator.daemon").info(
            "%s: the previous poll is still running at the next scheduled one; that one is skipped", name
        )
        return False


_console = None  # the rich Console on stderr, when stderr is a terminal


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
    apscheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedRun) for f in apscheduler.filters):
        apscheduler.addFilter(_SkippedRun())
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
