"""API routes of the time resources (issue #3); registered on the /api/v1/ router."""

from rest_framework.routers import SimpleRouter

from psa.api.views.time import TimeEntryViewSet, TimesheetViewSet


def register(router: SimpleRouter) -> None:
    """Register this module's viewsets on the API router."""
    router.register("time-entries", TimeEntryViewSet, basename="time-entry")
    router.register("timesheets", TimesheetViewSet, basename="timesheet")
