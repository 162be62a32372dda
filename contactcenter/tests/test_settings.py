from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contactcenter.env import EnvError, env_bool, env_int, env_list, env_required, env_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 30 + "-production-secret-" + "q" * 30,
    "ALLOWED_HOSTS": "cc.example.com",
    "DATABASE_URL": "postgres://cc@127.0.0.1:5432/cc",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PUBLIC_URL": "https://cc.example.com",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_env_bool_reads_common_spellings_and_rejects_others() -> None:
    assert env_bool("X", False, environ={"X": "yes"}) is True
    assert env_bool("X", True, environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True
    with pytest.raises(EnvError, match="X must be a boolean"):
        env_bool("X", False, environ={"X": "maybe"})


def test_env_int_checks_type_and_range() -> None:
    assert env_int("N", 3, environ={"N": "7"}) == 7
    with pytest.raises(EnvError, match="N must be an integer, got 'seven'"):
        env_int("N", 3, environ={"N": "seven"})
    with pytest.raises(EnvError, match="N must be at least 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})


def test_env_url_checks_scheme_and_host() -> None:
    assert (
        env_url("U", None, schemes=("http", "https"), environ={"U": "https://api.nexmo.com/"})
        == "https://api.nexmo.com"
    )
    with pytest.raises(EnvError, match="U must be a URL starting with http:// or https://"):
        env_url("U", None, schemes=("http", "https"), environ={"U": "ftp://x"})
    with pytest.raises(EnvError, match="must name a host"):
        env_url("U", None, schemes=("redis",), environ={"U": "redis://"})


def test_env_list_and_required() -> None:
    assert env_list("L", ["a"], environ={"L": "x, y,,z"}) == ["x", "y", "z"]
    with pytest.raises(EnvError, match="S must be set: because"):
        env_required("S", why="because", environ={})


@pytest.mark.slow
def test_missing_secret_key_stops_start_up_with_a_clear_message() -> None:
    env = {**PRODUCTION_ENV}
    env.pop("SECRET_KEY")
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set: DEBUG is off" in result.stderr


@pytest.mark.slow
def test_bad_value_stops_start_up_naming_the_variable() -> None:
    result = run_manage("check", env={**PRODUCTION_ENV, "DATABASE_POOL_MAX": "lots"})
    assert result.returncode != 0
    assert "DATABASE_POOL_MAX must be an integer, got 'lots'" in result.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
