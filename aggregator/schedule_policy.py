"""The scheduling policy: when each source is polled next, as pure functions.

They take the time and a random generator as arguments, so tests check them with fixed
times; `scheduler.Daemon` only asks them and hands the answer to APScheduler. Because the
schedule is derived from the stored `SourceState`, a restart resumes the cadence instead of
polling everything at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import parse_iso
from .store import STATE_COMMIT_SECONDS, SourceState


@dataclass(frozen=True)
class Policy:
    """Knobs of the schedule. Defaults suit months of unattended polling; tests shrink them."""

    jitter: float = 0.1  # each interval varies by ±10% so sources drift apart instead of firing together
    spread_per_source: float = 1.0  # overdue/first polls are spread over this many seconds per source...
    max_spread: float = 180.0  # ...but never over more than this (or the interval)
    backoff_cap: float = 6 * 3600.0  # a failing source is still tried at least this often (or per interval if longer)
    max_retry_after: float = 7 * 86400.0  # a bogus far-future Retry-After must not silence a source forever
    publish_every: float = 5.0  # publish at most this often; a burst of polls gives one write
    config_check_every: float = 2.0  # poll the config file's mtime; no inotify dependency
    stop_grace: float = 3.0  # how long in-flight polls may finish on SIGTERM before they are cancelled
    commit_check_every: float = 1.0  # the timer that writes staged poll state and items (for `status`)
    state_commit_every: float = STATE_COMMIT_SECONDS  # poll state alone is written at most this often
    continue_after: float = 60.0  # a poll that left pages unread (cap, time) goes on this soon, not an interval later
    write_retry_every: float = 5.0  # while the store or feeds cannot be written (a full disk), publish is retried this often


DEFAULT_POLICY = Policy()


def spread_window(interval: float, sources: int, policy: Policy = DEFAULT_POLICY) -> float:
    """Seconds over which polls that are all due now are spread.

    Proportional to the number of sources: a handful start at once, a hundred are
    spread over a few minutes, and never over more than one interval.
    """
    return max(0.0, min(interval, policy.max_spread, policy.spread_per_source * max(1, sources)))


def backoff_delay(failures: int, interval: float, rng: random.Random, policy: Policy = DEFAULT_POLICY) -> float:
    """Delay after the n-th consecutive failure: interval, 2x, 4x ... capped, minus up to `jitter`.

    There is no give-up: a site down for a week is picked up again once it is back
    (the top complaint about feed readers that disable sources after a few errors).
    """
    cap = max(interval, policy.backoff_cap)
    raw = min(cap, interval * 2.0 ** min(max(failures, 1) - 1, 32))
    # Jitter only downwards, so the cap holds and many sources failing together drift apart.
    return raw * rng.uniform(1.0 - policy.jitter, 1.0)


def next_run(
    state: SourceState,
    interval: float,
    now: datetime,
    rng: random.Random,
    *,
    spread: float = 0.0,
    policy: Policy = DEFAULT_POLICY,
) -> datetime | None:
    """When to poll a source next, from its stored state; None when it is gone (HTTP 410).

    - never polled, or overdue (the daemon was down): now + a random offset within `spread`;
    - after a success: last attempt + interval ± jitter; when that poll left article pages
      unread (its cap or its time ran out), `continue_after` after now instead, so a first
      poll of a slow site converges in minutes, not in one interval per 60 pages;
    - after failures: last attempt + capped exponential back-off;
    - never before the server's Retry-After.
    """
    if state.gone:
        return None
    last = parse_iso(state.last_attempt)
    if last is None:
        due = now + timedelta(seconds=rng.uniform(0.0, spread))
    else:
        if state.consecutive_failures > 0:
            delay = backoff_delay(state.consecutive_failures, interval, rng, policy)
        elif state.left_unread > 0:
            # Counted from now (the poll's end, or a restart), not its start: a long poll is
            # followed by a pause, not by the next one at once.
            last = max(last, now)
            delay = min(interval, policy.continue_after) * rng.uniform(1.0, 1.0 + policy.jitter)
        else:
            delay = interval * rng.uniform(1.0 - policy.jitter, 1.0 + policy.jitter)
        due = last + timedelta(seconds=delay)
        if due < now:
            due = now + timedelta(seconds=rng.uniform(0.0, spread))
    until = parse_iso(state.retry_after_until)
    if until is not None:
        due = max(due, min(until, now + timedelta(seconds=policy.max_retry_after)))
    return due


def in_words(moment: datetime, now: datetime) -> str:
    """How far off `moment` is, for log lines: 'in 40s', 'in 12m', 'in 3.5h'."""
    seconds = max(0.0, (moment - now).total_seconds())
    if seconds < 120:
        return f"in {seconds:.0f}s"
    if seconds < 7200:
        return f"in {seconds / 60:.0f}m"
    return f"in {seconds / 3600:.1f}h"
