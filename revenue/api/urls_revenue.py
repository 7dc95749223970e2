"""Revenue's resources under /api/v1/ (API.md): revenue schedules, recognition runs and
journal entries. `revenue/api/urls.py` joins these routes to the periods' ones."""

from rest_framework.routers import SimpleRouter

from revenue.api import views

router = SimpleRouter(trailing_slash=True)
router.register("revenue-schedules", views.RevenueScheduleViewSet, basename="revenue-schedule")
router.register("revenue-runs", views.RecognitionRunViewSet, basename="revenue-run")
router.register("journal-entries", views.JournalEntryViewSet, basename="journal-entry")

urlpatterns = router.urls
