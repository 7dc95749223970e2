"""Every page for every role: 200 where the role matrix grants the view permission, 403 where
it does not, and a redirect to sign-in for anonymous visitors. Expectations come from
psa.roles.MATRIX, never from a hand-written table."""

from collections.abc import Callable

import pytest
from django.urls import reverse

from psa import roles
from tests.psa.pages.conftest import World

# (url name, permission the page needs or None, how to find its object in a World)
PAGES: list[tuple[str, str | None, Callable[[World], dict] | None]] = [
    ("home", None, None),
    ("search", None, None),
    ("client-list", "psa.view_client", None),
    ("client-export", "psa.view_client", None),
    ("client-detail", "psa.view_client", lambda w: {"pk": w.own_project.client_id}),
    ("contract-detail", "psa.view_contract", lambda w: {"pk": w.own_project.contract_id}),
    ("project-list", "psa.view_project", None),
    ("project-export", "psa.view_project", None),
    ("project-detail", "psa.view_project", lambda w: {"pk": w.own_project.pk}),
    ("person-list", "psa.view_person", None),
    ("person-export", "psa.view_person", None),
    ("person-detail", "psa.view_person", lambda w: {"pk": w.person.pk}),
    ("audit-list", "psa.view_auditlog", None),
]


def _url(name: str, kwargs_of: Callable[[World], dict] | None, world: World) -> str:
    return reverse(name, kwargs=kwargs_of(world) if kwargs_of else None)


@pytest.mark.django_db
@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "perm", "kwargs_of"), PAGES, ids=[p[0] for p in PAGES])
def test_page_status_follows_the_role_matrix(role, name, perm, kwargs_of, world_for,
                                             browser_for):
    world = world_for(role)
    expected = 200 if perm is None or roles.scope_of(frozenset({role}), perm) else 403

    response = browser_for(world.person).get(_url(name, kwargs_of, world))

    assert response.status_code == expected, (role, name)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "perm", "kwargs_of"), PAGES, ids=[p[0] for p in PAGES])
def test_page_anonymous_redirects_to_sign_in(client, name, perm, kwargs_of, world_for):
    world = world_for(roles.ADMINISTRATOR)
    url = _url(name, kwargs_of, world)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", roles.ROLES)
def test_navigation_shows_only_permitted_items(role, world_for, browser_for):
    from psa.views.context import NAVIGATION, STAFF_ONLY

    world = world_for(role)
    held = frozenset({role})

    response = browser_for(world.person).get(reverse("home"))

    html = response.content.decode()
    nav = html[html.index('id="sidenav"'):html.index("</nav>", html.index('id="sidenav"'))]
    for label, url_name, perm in NAVIGATION:
        link = f'href="{reverse(url_name)}"'
        staff_ok = url_name not in STAFF_ONLY or world.person.user.is_staff
        if (perm is None or roles.scope_of(held, perm)) and staff_ok:
            assert link in nav, (role, label)
        else:
            assert link not in nav, (role, label)
    assert roles.ROLE_LABELS[role] in html
    assert world.person.full_name in html
