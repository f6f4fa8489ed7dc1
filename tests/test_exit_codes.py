"""Store, feeds-directory and port problems: one line naming the setting, the path and the fix, and
the documented exit code (3 store or feeds directory, 4 port in use), never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args], env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def _config(tmp_path: Path, store: str, output_dir: str, serve: str = "enabled = false") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[settings]\nstore = "{store}"\noutput_dir = "{output_dir}"\n\n[serve]\n{serve}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["build"], ["poll", "--once"], ["run"]])
def test_an_unusable_store_directory_is_one_line_and_exit_3(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    config = _config(tmp_path, "a-file/store.json", "feeds")
    done = _run(*command, str(config))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "settings.store" in line]
    assert len(lines) == 1 and str(tmp_path / "a-file" / "store.json") in lines[0] and "point `store`" in lines[0]


def test_a_missing_store_directory_that_cannot_be_created_is_exit_3(tmp_path: Path) -> None:
    config = _config(tmp_path, "/proc/no-such-dir/store.json", "feeds")
    done = _run("build", str(config))
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert "settings.store" in done.stderr and "/proc/no-such-dir" in done.stderr


@pytest.mark.parametrize("command", [["build"], ["poll", "--once"], ["run"]])
def test_an_unwritable_output_dir_is_one_line_and_exit_3(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    config = _config(tmp_path, "store.json", "a-file/feeds")
    done = _run(*command, str(config))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "settings.output_dir" in line]
    assert len(lines) == 1 and str(tmp_path / "a-file" / "feeds") in lines[0] and "point `output_dir`" in lines[0]


def test_a_port_in_use_is_its_own_exit_code(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        config = _config(tmp_path, "store.json", "feeds", f'host = "127.0.0.1"\nport = {port}')
        done = _run("run", str(config))
    finally:
        taken.close()
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "[serve] port" in done.stderr
