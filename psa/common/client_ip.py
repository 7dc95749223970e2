"""The client's address as the outermost trusted proxy saw it (sign-in lockout, logs).

Behind a TLS proxy `REMOTE_ADDR` is the proxy's own address, so the lockout would count every
user's failures as coming from one place. `PSA_TRUSTED_PROXIES` says how many proxies of ours
stand in front of the web process; each appends the address it saw to `X-Forwarded-For`, so
the client is the entry that many places from the right. Entries further left come from the
client itself and are never trusted.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies < 1:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if part.strip()]
    if len(forwarded) < proxies:
        return remote  # not through all our proxies: a request made around them
    return forwarded[-proxies]
