"""The PostgreSQL store's connections: opening them, one-line errors, and the writer's lock.

Messages name the store by its URL without the password (`redact`), and say what to do:
start the server, fix the password, upgrade the program. libpq's own messages span
lines and carry hints; `reason` keeps their cause.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg.types.json import set_json_dumps, set_json_loads

from .errors import StoreError, StoreLocked

LOCK_KEY = 0x6665_6564_6167_6772  # "feedaggr"; advisory locks are per database, so one constant will do
APP_NAME = "feed-aggregator"
CONNECT_TIMEOUT = 5  # seconds: a server that does not answer is an error, not a hang


def redact(url: str) -> str:
    """The URL as messages show it: any password replaced by ***."""
    from ..config.models import redact_url

    return redact_url(url)


def reason(exc: BaseException) -> str:
    """libpq's message on one line: its cause, without the prefixes and hints around it."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.rpartition("failed: ")[2] if "failed: " in text else text
    return text.replace("FATAL:  ", "").strip() or type(exc).__name__


def _dumps(obj: Any) -> bytes:
    # jsonb refuses \u0000; a stray NUL in a title must not make every commit fail.
    return orjson.dumps(obj).replace(b"\\u0000", b"")


def connect(url: str, location: str, application_name: str, *, readonly: bool) -> psycopg.Connection:
    """An autocommit connection (each read sees the latest commit); a one-line StoreError if none."""
    options: dict[str, Any] = {"autocommit": True, "application_name": application_name[:63]}
    if "connect_timeout" not in url:
        options["connect_timeout"] = CONNECT_TIMEOUT
    try:
        conn = psycopg.connect(url, **options)
    except psycopg.Error as exc:
        raise StoreError(connect_message(url, location, exc)) from None
    set_json_dumps(_dumps, context=conn)
    set_json_loads(orjson.loads, context=conn)
    if readonly:
        conn.execute("SET default_transaction_read_only = on")  # a second guard: the server refuses writes
    return conn


def connect_message(url: str, location: str, exc: psycopg.Error) -> str:
    cause = reason(exc)
    lowered = cause.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        user = re.search(r'for user "([^"]*)"', cause)
        name = user.group(1) if user else (urlsplit(url).username or "?")
        return (
            f"cannot connect to {location}: authentication failed for user {name};"
            " fix the password in `store`, or use `env:NAME`"
        )
    if "refused" in lowered:
        return f"cannot connect to {location} (connection refused); start PostgreSQL or fix `store`"
    if "does not exist" in lowered:
        return f"cannot connect to {location} ({cause}); create it (createdb) or fix `store`"
    return f"cannot connect to {location} ({cause}); check that PostgreSQL runs and `store` is right"


def take_lock(url: str, location: str, held: psycopg.Connection | None) -> psycopg.Connection:
    """The connection whose session holds the store's advisory lock: `held` while it still
    answers, else a new one (a server restart ends the session, and the lock with it)."""
    if held is not None and not held.closed:
        try:
            held.execute("SELECT 1")
            return held
        except psycopg.Error:
            held.close()
    # Who holds it is told by this connection's name: pg_stat_activity shows it to every user.
    lock = connect(url, location, f"{APP_NAME}: pid {os.getpid()} on host {socket.gethostname()}", readonly=False)
    try:
        row = lock.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if not (row and row[0]):
            raise StoreLocked(
                f"{location} is in use by {lock_owner(lock)}; one daemon owns a store at a time."
                " Stop it, or point this config at another store."
            )
    except psycopg.Error as exc:
        lock.close()
        raise StoreError(f"cannot lock {location} ({reason(exc)})") from None
    except BaseException:
        lock.close()
        raise
    return lock


def lock_owner(conn: psycopg.Connection) -> str:
    row = conn.execute(
        """SELECT a.application_name, l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid::bigint = %s AND l.objid::bigint = %s""",
        (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF),
    ).fetchone()
    if not row:
        return "another process"
    name, pid = row
    prefix = f"{APP_NAME}: "
    return name[len(prefix):] if name and name.startswith(prefix) else f"PostgreSQL session {pid}"
