"""The demo's hub: a template and three connections pointing at the emulators, once."""

import pytest

from crm_sync.demo import seed_integrations
from crm_sync.models import Connection
from psa.models import ProjectTemplate
from tests.psa.factories import LegalEntityFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_seeds_connections_and_template_once(django_capture_on_commit_callbacks):
    LegalEntityFactory()
    PersonFactory(user=UserFactory(username="manager"))
    with django_capture_on_commit_callbacks() as first_poll:
        assert seed_integrations(log=lambda line: None) == 3
    assert seed_integrations(log=lambda line: None) == 0
    assert len(first_poll) == 1  # one first poll, enqueued only when something was created
    assert sorted(Connection.objects.values_list("vendor", "base_url")) == [
        ("bamboohr", "http://127.0.0.1:8102"), ("hubspot", "http://127.0.0.1:8101"),
        ("quickbooks", "http://127.0.0.1:8103")]
    hubspot = Connection.objects.get(vendor="hubspot")
    assert hubspot.credentials["client_secret"] == "sandbox-hubspot-secret"
    template = ProjectTemplate.objects.get()
    assert hubspot.options["pipelines"]["default"]["template"] == template.code
    assert template.tasks.count() == 7 and template.milestones.count() == 3


def test_refuses_without_the_demo_firm():
    with pytest.raises(LookupError, match="seed_demo"):
        seed_integrations(log=lambda line: None)
