"""Where outbound webhooks may go: public HTTPS receivers, unless this deployment allows
private targets (development, tests and the emulators; `PSA_WEBHOOK_PRIVATE_TARGETS`).

A subscription's URL is checked when it is created and again before every send, so a host
that later resolves inward (DNS rebinding) is refused then too. What is left: a name that
changes between this check and the connection a moment later (docs/security.md).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class WebhookTargetRefusedError(Exception):
    """The URL points at a place webhooks may not go; the message says why."""


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(raw.split("%")[0])  # drop an IPv6 zone
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def webhook_target_check(url: str) -> None:
    """Raise WebhookTargetRefusedError unless `url` is https and every address its host
    resolves to is a public one (not loopback, private, link-local, shared or reserved)."""
    if settings.WEBHOOK_PRIVATE_TARGETS_ALLOWED:
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise WebhookTargetRefusedError("Use an https:// URL: events carry client data.")
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookTargetRefusedError(f"The host {host} cannot be resolved.") from None
    for *_, sockaddr in found:
        address = _address(str(sockaddr[0]))
        if not address.is_global:
            raise WebhookTargetRefusedError(
                f"{host} resolves to {address}, a private, loopback or reserved address: "
                "webhooks go to public receivers only.")
