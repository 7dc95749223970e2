"""The demo's integration hub: a project template and one connection per vendor, pointing at
the emulators `make run` starts (python -m crm_sync.sandbox). Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction

from crm_sync.models import Connection
from psa.common.jobs import enqueue_on_commit
from psa.models import LegalEntity, Person, ProjectTemplate, TemplateMilestone, TemplateTask

SANDBOX_HOST = "http://127.0.0.1"
TEMPLATE_CODE = "consulting-standard"

TEMPLATE_TASKS = (
    ("1", "Discovery", True, Decimal("15")),
    ("2", "Design", True, Decimal("25")),
    ("3", "Build", True, Decimal("0")),
    ("3.1", "Build: first release", True, Decimal("25")),
    ("3.2", "Build: second release", True, Decimal("20")),
    ("4", "Handover and training", True, Decimal("10")),
    ("5", "Project management", False, Decimal("5")),
)
TEMPLATE_MILESTONES = (
    ("Kick-off complete", Decimal("20"), 14),
    ("Design signed off", Decimal("40"), 60),
    ("Final acceptance", Decimal("40"), 120),
)


def demo_template() -> ProjectTemplate:
    """The standard consulting template (created once), for the demo and the benchmarks."""
    template, created = ProjectTemplate.objects.get_or_create(
        code=TEMPLATE_CODE, defaults={"name": "Consulting engagement (standard)",
                                      "description": "Discovery, design, build, handover."})
    if created:
        TemplateTask.objects.bulk_create(
            TemplateTask(template=template, wbs_code=code, name=name, is_billable=billable,
                         budget_share=share)
            for code, name, billable, share in TEMPLATE_TASKS)
        TemplateMilestone.objects.bulk_create(
            TemplateMilestone(template=template, name=name, percent_of_value=percent,
                              due_after_days=days)
            for name, percent, days in TEMPLATE_MILESTONES)
    return template


def _connection(name: str, port: int, entity: LegalEntity, credentials: dict[str, Any],
                options: dict[str, Any]) -> bool:
    if Connection.objects.filter(name=name).exists():
        return False
    connection = Connection(name=name, vendor=name, kind=Connection.KIND_OF_VENDOR[name],
                            base_url=f"{SANDBOX_HOST}:{port}", legal_entity=entity,
                            options=options)
    connection.set_credentials(credentials)
    connection.save()
    return True


@transaction.atomic
def seed_integrations(log: Callable[[str], None]) -> int:
    """Create what is missing; returns how many connections were created."""
    entity = LegalEntity.objects.order_by("pk").first()
    manager = Person.objects.filter(user__username="manager").first()
    if entity is None or manager is None:
        raise LookupError("Run seed_demo first: the integrations demo needs its firm.")
    template = demo_template()
    created = 0
    created += _connection("hubspot", 8101, entity,
                           {"access_token": "sandbox-hubspot-token",
                            "client_secret": "sandbox-hubspot-secret"},
                           {"manager_employee_number": manager.employee_number,
                            "pipelines": {"default": {"billing_model": "tm",
                                                      "revenue_method": "as_delivered",
                                                      "template": template.code}}})
    created += _connection("bamboohr", 8102, entity,
                           {"api_key": "sandbox-bamboohr-key",
                            "webhook_key": "sandbox-bamboohr-webhook-key"},
                           {"default_role": "CONS",
                            "role_map": {"Analyst": "ANL", "Consultant": "CONS",
                                         "Senior Consultant": "SCON", "Manager": "MGR",
                                         "Partner": "PTR"}})
    created += _connection("quickbooks", 8103, entity,
                           {"access_token": "sandbox-qbo-token",
                            "verifier_token": "sandbox-qbo-verifier"},
                           {"realm_id": "9130357766900000"})
    if created:
        # A first poll as soon as the worker starts (with the emulators, in `make run`): the
        # HRIS's people and the CRM's open deals show up without waiting for beat's schedule.
        from crm_sync.tasks import poll_all_task

        enqueue_on_commit(poll_all_task)
    log(f"Integrations: template {template.code}, {created} connection(s) created "
        f"(emulators on {SANDBOX_HOST}:8101-8103).")
    return created
