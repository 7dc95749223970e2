"""The delivery core's resources under /api/v1/ (API.md); trailing slashes as documented."""

from rest_framework.routers import SimpleRouter

from psa.api import routes_approvals, routes_expenses, routes_time, views

router = SimpleRouter(trailing_slash=True)
router.register("legal-entities", views.LegalEntityViewSet, basename="legal-entity")
router.register("clients", views.ClientViewSet, basename="client")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("change-orders", views.ChangeOrderViewSet, basename="change-order")
router.register("projects", views.ProjectViewSet, basename="project")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("milestones", views.MilestoneViewSet, basename="milestone")
router.register("people", views.PersonViewSet, basename="person")
router.register("roles", views.RoleViewSet, basename="role")
router.register("rate-cards", views.RateCardViewSet, basename="rate-card")
for routes in (routes_time, routes_expenses, routes_approvals):
    routes.register(router)

app_name = "api"
urlpatterns = router.urls
