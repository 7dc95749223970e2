"""API routes of the expenses resources (issue #3); registered on the /api/v1/ router."""

from rest_framework.routers import SimpleRouter

from psa.api.views.expenses import ExpenseViewSet


def register(router: SimpleRouter) -> None:
    """Register this module's viewsets on the API router."""
    router.register("expenses", ExpenseViewSet, basename="expense")
