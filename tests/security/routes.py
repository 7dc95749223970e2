"""The project's URL inventory, read from `django.urls.get_resolver()`, and the permission each
route declares for each HTTP method.

A route's key is its full pattern, joined the way Django joins it for `ResolverMatch.route`
(so `resolve(url).route == key` proves a filled URL reaches the route it was built for).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

UNSAFE_METHODS = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its key, the view behind it and the HTTP methods it answers."""

    key: str
    name: str | None
    view_class: type | None
    actions: dict[str, str] | None  # a DRF viewset route: HTTP method -> action

    @property
    def is_api(self) -> bool:
        return self.key.startswith("api/v1/")

    @property
    def is_admin(self) -> bool:
        return self.key.startswith("admin/")

    @property
    def kwarg_names(self) -> list[str]:
        return [a or b for a, b in re.findall(r"\(\?P<(\w+)>|<(?:\w+:)?(\w+)>", self.key)]

    def methods(self) -> list[str]:
        """The HTTP methods the view answers (lower case), HEAD and OPTIONS left out."""
        if self.actions is not None:
            return sorted(self.actions)
        if self.view_class is None:
            return ["get"]
        return [m for m in ("get", "post", "put", "patch", "delete")
                if callable(getattr(self.view_class, m, None))]

    def declared_perm(self, method: str) -> str | None:
        """The role-matrix permission the view declares for `method`; None when it maps
        nothing to the method (refused for everyone) or declares no `required_perms`."""
        perms = getattr(self.view_class, "required_perms", None) or {}
        if self.actions is not None:
            return perms.get(self.actions.get(method, ""))
        return perms.get(method)

    def declares_perms(self) -> bool:
        return getattr(self.view_class, "required_perms", None) is not None


def _join(route1: str, route2: str) -> str:
    """Django's `URLResolver._join_route`: the second route loses its leading caret."""
    if not route1:
        return route2
    return route1 + route2.removeprefix("^")


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in resolver.url_patterns:
        here = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, here)
        else:
            yield here, pattern


def all_routes() -> dict[str, Route]:
    """Every URL pattern of the project by key (admin, pages, fragments, exports, API)."""
    routes: dict[str, Route] = {}
    for key, pattern in _walk(get_resolver()):
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        actions = getattr(callback, "actions", None)
        if actions:
            # DRF adds "head" to a viewset's actions the first time the route is requested.
            actions = {method: action for method, action in actions.items()
                       if method not in ("head", "options")}
        routes[key] = Route(key=key, name=pattern.name, view_class=view_class,
                            actions=actions or None)
    return routes


def fill(key: str, kwargs: dict[str, object]) -> str:
    """The URL of route `key` with its parameters replaced by `kwargs`."""

    def value(name: str) -> str:
        if name not in kwargs:
            raise KeyError(f"{key}: no value for <{name}>")
        return str(kwargs[name])

    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), key)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), url)
    url = url.replace("^", "").replace("$", "")
    return "/" + url

