"""Revenue pages (issue #6), included at "revenue/" from psa/urls.py: the month-end close,
schedules and runs, and the forecast, each area in its own URL module."""

from revenue import urls_close, urls_forecast, urls_schedules

app_name = "revenue"
urlpatterns = [*urls_close.urlpatterns, *urls_schedules.urlpatterns,
               *urls_forecast.urlpatterns]
