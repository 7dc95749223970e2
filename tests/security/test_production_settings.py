"""Production settings (PSA_ENV=production), read in a subprocess as a real deployment would.

Secure cookies, HSTS, HTTPS redirects behind the proxy, security headers and a Content-Security-
Policy without 'unsafe-inline' scripts; and Django's own deployment checks come out clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.known_defects import explain

ROOT = Path(__file__).resolve().parents[2]
SAFE_SECRET = "x7#kQ2!vR9@pL4$wZ8^mN3&bT6*cY1(dF5)gH0_jK2+sA9=eU4~iO7-qW3"
PRODUCTION = {"PSA_ENV": "production", "SECRET_KEY": SAFE_SECRET,
              "ALLOWED_HOSTS": "psa.example.com",
              "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres"}

# Runs in the subprocess: the settings and the headers of two requests (neither touches the
# database: the live probe, and a plain-HTTP page that must be redirected to HTTPS first).
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="psa.example.com")
secure = client.get("/health/?probe=live", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="http")
names = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_CONTENT_TYPE_NOSNIFF",
         "X_FRAME_OPTIONS", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE",
         "SECURE_REFERRER_POLICY", "SESSION_COOKIE_AGE"]
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "secure": dict(secure.headers),
    "plain": {"status": plain.status_code, "location": plain.get("Location", "")},
}))
"""


def _env() -> dict[str, str]:
    keep = {key: value for key, value in os.environ.items()
            if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PSA_ENV", "DATABASE_URL",
                           "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}}
    return {**keep, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "psa.settings"}


@pytest.fixture(scope="module")
def production() -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {words[0]: words[1:] for words in parts}


def test_cookies_are_secure_and_http_only(production):
    found = production["settings"]
    assert found["DEBUG"] is False
    assert found["SESSION_COOKIE_SECURE"] is True
    assert found["CSRF_COOKIE_SECURE"] is True
    assert found["SESSION_COOKIE_HTTPONLY"] is True
    assert found["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert found["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")


def test_https_only_with_hsts_for_a_year(production):
    found = production["settings"]
    assert found["SECURE_SSL_REDIRECT"] is True
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["SECURE_HSTS_SECONDS"] >= 31536000
    hsts = production["secure"]["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts and "preload" in hsts
    plain = production["plain"]
    assert plain["status"] == 301
    assert plain["location"].startswith("https://psa.example.com/")


def test_security_headers_on_every_response(production):
    headers = production["secure"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert not [source for sources in policy.values() for source in sources
                if source.startswith(("http:", "https:")) or "." in source]


def test_script_policy_allows_no_inline_script(production):
    """An injected `<script>` or `onclick=` would run under 'unsafe-inline'."""
    policy = _directives(production["secure"]["Content-Security-Policy"])
    scripts = policy.get("script-src", policy["default-src"])
    assert "'unsafe-eval'" not in scripts
    assert "'unsafe-inline'" not in scripts, explain("csp-unsafe-inline")


def test_production_refuses_the_example_secret():
    """deploy/psa.env.example's SECRET_KEY is public: a deployment must not start with it."""
    example = dict(line.split("=", 1) for line in
                   (ROOT / "deploy/psa.env.example").read_text().splitlines()
                   if line and not line.startswith("#") and "=" in line)
    env = {**_env(), "SECRET_KEY": example["SECRET_KEY"]}

    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode != 0, explain("example-secret-accepted")
    assert "SECRET_KEY" in result.stderr


def test_deploy_checks_are_clean():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
