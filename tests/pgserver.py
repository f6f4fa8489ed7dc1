"""A throwaway PostgreSQL server for the tests: initdb into a temporary directory, start, stop.

Real servers, not mocks: the PostgreSQL store's promises (one transaction per commit,
the advisory lock, surviving a restart) are only worth testing against the real thing.
As root the binaries run as `postgres` (the server refuses to run as root); otherwise
as the current user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD = "test-password-7f3a"  # password (scram-sha-256) auth, as a deployment would have


def find_bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    # The newest major version: "9.6" < "15" compares as numbers, not text.
    versions.sort(key=lambda bindir: [int(part) for part in bindir.parent.name.split(".") if part.isdigit()])
    return versions[-1] if versions else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One server in its own temporary directory, on 127.0.0.1 and a free port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # /tmp itself, not pytest's tmp_path: that is 0700 root and `postgres` could not enter it.
        self.root = Path(tempfile.mkdtemp(prefix="aggregator-pg-"))
        self.datadir = self.root / "data"
        self.port = free_port()
        if self.as_root:
            shutil.chown(self.root, user=SUPERUSER)
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if self.as_root:
            shutil.chown(pwfile, user=SUPERUSER)
        self._run(
            "initdb", "-D", str(self.datadir), "--username", SUPERUSER, "--pwfile", str(pwfile),
            "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync",
        )
        pwfile.unlink()
        self.running = False

    def _run(self, binary: str, *args: str) -> None:
        command = [str(self.bindir / binary), *args]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{binary} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self, *, durable: bool = False) -> None:
        """`durable`: fsync as a deployment would (benchmarks); tests skip it for speed."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1" + ("" if durable else " -c fsync=off")
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        if self.running:
            # immediate: like a crash or `systemctl stop` under load; clients see the connection drop
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
            self.running = False

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", *, password: str = PASSWORD) -> str:
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A fresh database; its name."""
        import psycopg

        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
