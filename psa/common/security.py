"""A Content-Security-Policy that keeps every page on this server's own assets.

No page may load anything from the internet (ARCHITECTURE.md). The policy turns that into a
browser-enforced rule: even third-party bundles that reach out on their own (Redoc fetches its
vendor's logo) are stopped before any request leaves the machine.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join((
    "default-src 'self'",
    # No inline script anywhere (Swagger UI's starter is served as a file: psa/urls.py);
    # Redoc runs a blob worker.
    "script-src 'self'",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
))


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
