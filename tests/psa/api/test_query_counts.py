"""List endpoints run a fixed number of queries, whatever the page holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.psa.factories import ClientFactory, CostRateFactory, PersonFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def build_projects(n):
    for _ in range(n):
        ProjectFactory()


def build_clients(n):
    ClientFactory.create_batch(n)


def build_people(n):
    for person in PersonFactory.create_batch(n):
        CostRateFactory(person=person)


@pytest.mark.parametrize(("path", "build"), [
    ("/api/v1/projects/", build_projects),
    ("/api/v1/clients/", build_clients),
    ("/api/v1/people/", build_people),
])
def test_list_queries_do_not_grow_with_rows(path, build, finance, token_client,
                                            django_assert_num_queries):
    client = token_client(finance.user)
    client.get(path)  # warm the token's last-used stamp and the content-type cache
    build(3)
    with CaptureQueriesContext(connection) as three:
        assert len(client.get(path).json()["results"]) >= 3

    build(27)
    with django_assert_num_queries(len(three.captured_queries)):
        assert len(client.get(path).json()["results"]) >= 30
