"""Issue #7's latency budget: a deal closed won in the CRM (webhook received) to its project
created, through a real Celery worker.

The HubSpot emulator runs in this process; each deal is created in a tentative stage, then
moved to closed won, and the emulator's signed webhook is handed to the same function the
inbound endpoint calls (`webhook_receive`), which stores it and commits. A worker (on the
configured broker and database) then reads the deal, its company and line items back over HTTP
and creates the client, contract, rate card, project with its WBS and milestones, and the
requests. Deals go one at a time, so the figure is latency, not queueing. Printed: median and
p95 from "webhook received" (the stored message's time) to "project created" (the deal's), and
for reference the same path's floor: a no-op task's round trip through the same worker.

    .venv/bin/python bench/deal_latency.py [--deals 40]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import harness
import httpx
from django.conf import settings
from workers import purge, start_workers, stop_workers

QUEUES = "default,sync"
WEBHOOK_URL = "http://testserver/api/v1/integrations/hubspot/webhook/"


def firm():
    """Roles, a project manager and a template: what a won deal needs here."""
    from crm_sync.demo import TEMPLATE_CODE, demo_template
    from tests.psa.factories import LegalEntityFactory, PersonFactory, RoleFactory

    entity = LegalEntityFactory()
    for code, name, level in (("ANL", "Analyst", 1), ("SCON", "Senior Consultant", 3)):
        RoleFactory(code=code, name=name, level=level)
    manager = PersonFactory(legal_entity=entity, role=RoleFactory(code="MGR", name="Manager",
                                                                  level=4))
    demo_template()
    return entity, manager, TEMPLATE_CODE


def one_deal(hub_url: str, emulator, connection, number: int) -> float:
    """Seconds from the closed-won webhook stored to the deal's project created."""
    from crm_sync.connectors.base import InboundRequest
    from crm_sync.models import Deal, InboundMessage
    from crm_sync.services.inbound import webhook_receive

    created = httpx.post(f"{hub_url}/_sandbox/seed-deal", json={
        "company": {"name": f"Bench Client {number}", "domain": f"bench-{number}.example"},
        "deal": {"dealname": f"Bench deal {number}", "amount": "96000",
                 "deal_currency_code": "USD", "dealstage": "qualifiedtobuy"},
        "line_items": [{"name": "Senior Consultant", "quantity": "240", "price": "225",
                        "psa_role": "SCON"},
                       {"name": "Analyst", "quantity": "160", "price": "125",
                        "psa_role": "ANL"}]}).json()
    emulator.captured.clear()  # the creation webhook: not part of this measure
    httpx.post(f"{hub_url}/_sandbox/deals/{created['deal_id']}/stage",
               json={"stage": "closedwon"}).raise_for_status()
    # The closed-won change of this deal (the captured list also gets the writebacks of the
    # deals before it, which the worker PATCHes into the CRM meanwhile).
    body = next(body for body in reversed(emulator.captured)
                if any(str(item.get("objectId")) == str(created["deal_id"])
                       and item.get("propertyName") == "dealstage"
                       for item in json.loads(body)))
    headers = {k.lower(): v for k, v in emulator.signed_headers(body, WEBHOOK_URL).items()}
    webhook_receive(connection=connection, request=InboundRequest(
        method="POST", url=WEBHOOK_URL, headers=headers, body=body))
    deal_id = str(created["deal_id"])
    deadline = time.monotonic() + 30
    while True:
        deal = Deal.objects.filter(external_id=deal_id, project_created_at__isnull=False).first()
        if deal is not None:
            break
        if time.monotonic() > deadline:
            from psa.models import Delivery

            errors = list(Delivery.objects.exclude(state=Delivery.State.SUCCEEDED)
                          .values_list("subscriber", "state", "last_error")[:5])
            raise RuntimeError(f"deal {deal_id} never became a project: {errors}")
        time.sleep(0.01)
    received = (InboundMessage.objects.filter(object_id=deal_id, topic="deal.propertyChange")
                .order_by("received_at").values_list("received_at", flat=True).first())
    return (deal.project_created_at - received).total_seconds()


def ping_round_trip(scratch: Path, count: int = 20) -> float:
    """Median seconds for one no-op task from enqueue to done, through the same workers."""
    from psa.tasks import ping_task

    samples = []
    for number in range(count):
        marker = scratch / f"ping-{number}"
        started = time.perf_counter()
        ping_task.delay(str(marker))
        while not marker.exists():
            time.sleep(0.002)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=40)
    args = parser.parse_args()
    settings.DEBUG = False

    from crm_sync.models import Connection
    from crm_sync.sandbox.hubspot import HubSpotEmulator
    from crm_sync.sandbox.server import RunningEmulator

    with harness.throwaway_database(), tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        entity, manager, template = firm()
        hub = RunningEmulator(HubSpotEmulator())
        hub.emulator.webhook_url = "capture"
        connection = Connection(name="hubspot", vendor="hubspot", kind="crm", base_url=hub.url,
                                legal_entity=entity, options={
                                    "manager_employee_number": manager.employee_number,
                                    "pipelines": {"default": {"template": template}}})
        connection.set_credentials({"access_token": "sandbox-hubspot-token",
                                    "client_secret": "sandbox-hubspot-secret"})
        connection.save()
        purge(QUEUES)
        workers = start_workers(2, QUEUES, scratch / "logs")
        try:
            floor = ping_round_trip(scratch)
            one_deal(hub.url, hub.emulator, connection, 0)  # warm-up: imports, connections
            latencies = sorted(one_deal(hub.url, hub.emulator, connection, number)
                               for number in range(1, args.deals + 1))
        finally:
            stop_workers(workers)
            hub.stop()
        median = statistics.median(latencies)
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(f"{harness.connection.vendor} + {settings.CELERY_BROKER_URL.split(':')[0]}, "
              f"{args.deals} deals, one at a time")
        print(f"  closed won (webhook received) -> project created: median {median * 1000:.0f} ms"
              f", p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
        print(f"  floor: a no-op task's round trip {floor * 1000:.1f} ms "
              f"(median ratio {median / floor:.0f}x)")


if __name__ == "__main__":
    main()
