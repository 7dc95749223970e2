"""Billing's resources under /api/v1/ (API.md); included by psa/urls.py."""

from rest_framework.routers import SimpleRouter

from billing.api import views

router = SimpleRouter(trailing_slash=True)
router.register("invoice-runs", views.InvoiceRunViewSet, basename="invoice-run")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-notes", views.CreditNoteViewSet, basename="credit-note")
router.register("payments", views.PaymentViewSet, basename="payment")

app_name = "billing-api"
urlpatterns = router.urls
