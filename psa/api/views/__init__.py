"""API viewsets of the delivery core, by sub-domain."""

from psa.api.views.clients import ChangeOrderViewSet, ClientViewSet, ContractViewSet
from psa.api.views.org import LegalEntityViewSet, RateCardViewSet, RoleViewSet
from psa.api.views.people import PersonViewSet
from psa.api.views.projects import MilestoneViewSet, ProjectViewSet, TaskViewSet

__all__ = [
    "ChangeOrderViewSet",
    "ClientViewSet",
    "ContractViewSet",
    "LegalEntityViewSet",
    "MilestoneViewSet",
    "PersonViewSet",
    "ProjectViewSet",
    "RateCardViewSet",
    "RoleViewSet",
    "TaskViewSet",
]
