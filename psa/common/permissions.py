"""Default-deny permissions: each view maps its actions to role-matrix permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from psa.models import ApiToken

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


def _token_allows(request: Request, perm: str) -> bool:
    token = getattr(request, "auth", None)
    return not isinstance(token, ApiToken) or token.allows(perm)


class ActionPermission(BasePermission):
    """Reads the view's `required_perms` (action → permission); an unmapped action is refused."""

    message = "You do not have permission to perform this action."

    def _perm_for(self, view: APIView) -> str | None:
        perms = getattr(view, "required_perms", None)
        if perms is None:
            raise ImproperlyConfigured(f"{type(view).__name__} must declare required_perms")
        action = getattr(view, "action", None) or view.request.method.lower()
        return perms.get(action)

    def has_permission(self, request: Request, view: APIView) -> bool:
        perm = self._perm_for(view)
        if perm is None:
            return False
        return _token_allows(request, perm) and request.user.has_perm(perm)

    def has_object_permission(self, request: Request, view: APIView, obj: Model) -> bool:
        perm = self._perm_for(view)
        return perm is not None and request.user.has_perm(perm, obj)


class RequiredPermsMixin(AccessMixin):
    """The pages' side of the same rule: `required_perms` maps HTTP methods to permissions."""

    required_perms: dict[str, str] = {}

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        method = request.method.lower()
        perm = self.required_perms.get(method) or (
            self.required_perms.get("get") if method == "head" else None)
        if perm is None or not request.user.has_perm(perm):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)
