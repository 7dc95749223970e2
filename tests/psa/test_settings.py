"""Production mode refuses unsafe configuration and passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAFE_SECRET = "x7#kQ2!vR9@pL4$wZ8^mN3&bT6*cY1(dF5)gH0_jK2+sA9=eU4~iO7-qW3"


def run_manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PSA_ENV", "DATABASE_URL"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


PRODUCTION = {"PSA_ENV": "production", "SECRET_KEY": SAFE_SECRET,
              "ALLOWED_HOSTS": "psa.example.com",
              "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres"}


@pytest.mark.parametrize(("override", "message"), [
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"DEBUG": "true"}, "DEBUG must be off"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ({"DATABASE_URL": ""}, "DATABASE_URL"),
])
def test_production_refuses_unsafe_configuration(override, message):
    env = {**PRODUCTION, **override}
    env = {key: value for key, value in env.items() if value != "" or key == "ALLOWED_HOSTS"}
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert "Unsafe production configuration" in result.stderr
    assert message in result.stderr


def test_production_passes_deploy_checks():
    result = run_manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_seed_demo_refused_in_production():
    result = run_manage(PRODUCTION, "seed_demo")
    assert result.returncode != 0
    assert "production" in (result.stderr + result.stdout).lower()


def test_pages_forbid_assets_from_other_hosts(client):
    response = client.get("/accounts/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data: blob:" in policy
    assert "http" not in policy  # no outside host is ever allowed
