"""Reads of the firm's structure: legal entities, job roles, rate cards, clients, contracts."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch, QuerySet

from psa.models import ChangeOrder, Client, Contract, LegalEntity, RateCard, RateCardLine, Role
from psa.rules import visible

UserLike = User | AnonymousUser


def legal_entity_list(*, actor: UserLike) -> QuerySet[LegalEntity]:
    """Legal entities the actor may see."""
    return visible(LegalEntity.objects.all(), actor, "psa.view_legalentity")


def role_list(*, actor: UserLike) -> QuerySet[Role]:
    """Job roles the actor may see."""
    return visible(Role.objects.all(), actor, "psa.view_role")


def rate_card_list(*, actor: UserLike) -> QuerySet[RateCard]:
    """Rate cards with their lines and person overrides (two extra queries per page)."""
    return visible(RateCard.objects.prefetch_related(
        Prefetch("lines", queryset=RateCardLine.objects.order_by("role_id", "-effective_from")),
        "overrides"), actor, "psa.view_ratecard")


def client_list(*, actor: UserLike) -> QuerySet[Client]:
    """Clients the actor may see (a manager or consultant: those of their projects)."""
    return visible(Client.objects.all(), actor, "psa.view_client")


def contract_list(*, actor: UserLike) -> QuerySet[Contract]:
    """Contracts the actor may see (a manager: those of the projects they manage)."""
    return visible(Contract.objects.all(), actor, "psa.view_contract")


def change_order_list(*, actor: UserLike) -> QuerySet[ChangeOrder]:
    """Change orders the actor may see."""
    return visible(ChangeOrder.objects.all(), actor, "psa.view_changeorder")
