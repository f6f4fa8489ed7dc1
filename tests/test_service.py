"""The shipped systemd unit: systemd accepts it, and the paths it sets are the ones used."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
UNIT = ROOT / "config" / "aggregator.service"


def _directives(name: str) -> list[str]:
    return [line.split("=", 1)[1] for line in UNIT.read_text(encoding="utf-8").splitlines() if line.startswith(f"{name}=")]


def _aggregator_script() -> str:
    script = Path(sys.executable).with_name("aggregator")
    if not script.exists():
        pytest.skip(f"no aggregator entry point beside {sys.executable}; install the package first")
    return str(script)


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (no systemd): the unit was not verified")
    # Verify checks that ExecStart exists: point it at this checkout's entry point.
    unit = tmp_path / "aggregator.service"
    text = UNIT.read_text(encoding="utf-8").replace("/opt/feed-aggregator/.venv/bin/aggregator", _aggregator_script())
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "aggregator.service" not in done.stderr, done.stderr


def test_the_unit_keeps_state_in_its_state_directory_with_hardening() -> None:
    assert _directives("StateDirectory") == ["aggregator"]
    assert _directives("DynamicUser") == ["yes"]
    assert _directives("ProtectSystem") == ["strict"]
    env = dict(value.split("=", 1) for value in _directives("Environment"))
    assert env["AGGREGATOR_STORE"].startswith("/var/lib/aggregator/")
    assert env["AGGREGATOR_OUTPUT_DIR"].startswith("/var/lib/aggregator/")
    assert set(_directives("RestartPreventExitStatus")[0].split()) >= {"2", "3", "4"}


def test_the_units_command_and_environment_use_the_state_directory_not_the_config_dir(tmp_path: Path) -> None:
    """The example config in /etc/aggregator names a store relative to itself (read-only there)."""
    etc = tmp_path / "etc" / "aggregator"
    etc.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "example.toml", etc / "aggregator.toml")
    state = tmp_path / "var" / "lib" / "aggregator"
    state.mkdir(parents=True)
    env = {**os.environ}
    for value in _directives("Environment"):
        name, _, setting = value.partition("=")
        env[name] = setting.replace("/var/lib/aggregator", str(state))
    command = _directives("ExecStart")[0].split()
    config = command[-1].replace("/etc/aggregator", str(etc))
    script = _aggregator_script()
    checked = subprocess.run([script, "check", config], env=env, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert f"store:      {state}/store.json  (from AGGREGATOR_STORE)" in checked.stdout
    built = subprocess.run([script, "build", config], env=env, capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    assert (state / "store.json").exists() and (state / "feeds" / "all.atom").exists()
    assert not (tmp_path / "etc" / ".state").exists() and not (tmp_path / "etc" / "feeds").exists()


def test_store_and_output_dir_flags_override_the_config(tmp_path: Path) -> None:
    from .conftest import write_config

    config = write_config(tmp_path, "")
    other = tmp_path / "elsewhere"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "--store", str(other / "s.json"), "--output-dir", str(other / "f"), "build", str(config)],
        env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (other / "s.json").exists() and (other / "f" / "all.atom").exists()
    assert not (tmp_path / "store.json").exists()
