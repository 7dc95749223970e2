"""API routes of the approvals resources (issue #3); registered on the /api/v1/ router."""

from rest_framework.routers import SimpleRouter

from psa.api.views.approvals import ApprovalViewSet


def register(router: SimpleRouter) -> None:
    """Register this module's viewsets on the API router."""
    router.register("approvals", ApprovalViewSet, basename="approval")
