"""Endpoints for operators and their tools: `/health/` (load balancers, uptime checks) and
`/metrics` (Prometheus). Neither shows business data."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from psa.metrics import scrape_registry
from psa.selectors.ops import health_report


class HealthView(View):
    """`GET /health/`: database, broker and a live worker on every queue, as JSON; 503 when
    the database does not answer, 200 otherwise (`status` says ok or degraded).
    `?probe=live` only says the web process answers (no dependency is touched)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("probe") == "live":
            return JsonResponse({"status": "ok", "checks": {"web": {"ok": True}}})
        report = health_report()
        response = JsonResponse(report.as_dict(), status=503 if report.status == "down" else 200)
        response["Cache-Control"] = "no-store"
        return response


def _loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class MetricsView(View):
    """`GET /metrics`: Prometheus text. With METRICS_TOKEN set, a scraper sends it as a bearer
    token; without one, only this machine may scrape, and only outside production (behind a
    proxy on the same host every request comes from loopback)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        token = settings.METRICS_TOKEN
        if token:
            sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(sent.encode(), token.encode()):
                return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        elif settings.PRODUCTION or not _loopback(request):
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
        return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
