"""The integration hub's resources under /api/v1/ (API.md); included by psa/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from crm_sync.api import views, webhook_in

router = SimpleRouter(trailing_slash=True)
router.register("webhook-subscriptions", views.WebhookSubscriptionViewSet,
                basename="webhook-subscription")
router.register("events", views.EventViewSet, basename="event")
router.register("sync/deliveries", views.DeliveryViewSet, basename="sync-delivery")

app_name = "crm-sync-api"
urlpatterns = [
    path("integrations/<slug:connection>/webhook/", webhook_in.InboundWebhookView.as_view(),
         name="inbound-webhook"),
    *router.urls,
]
