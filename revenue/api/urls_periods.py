"""`/api/v1/periods/` (API.md): list, `…/{id}/close/` and `…/{id}/reopen/`; `revenue/api/urls.py`
joins these routes to revenue's other resources."""

from rest_framework.routers import SimpleRouter

from revenue.api.periods import PeriodViewSet

router = SimpleRouter(trailing_slash=True)
router.register("periods", PeriodViewSet, basename="period")

urlpatterns = router.urls
