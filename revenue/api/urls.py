"""Revenue's resources under /api/v1/ (psa/urls.py includes this module by its name)."""

from revenue.api import urls_periods, urls_revenue

app_name = "revenue-api"
urlpatterns = [*urls_periods.urlpatterns, *urls_revenue.urlpatterns]
