"""Revenue pages: the forecast and the contract balances (issue #6, items 3 and 6)."""

from django.urls import path

from revenue.views.balances import BalancesView
from revenue.views.forecast import ForecastView

urlpatterns = [
    path("forecast/", ForecastView.as_view(), name="forecast"),
    path("balances/", BalancesView.as_view(), name="balances"),
]
