"""The delivery core's tables; import models from here."""

from psa.models.base import BaseModel
from psa.models.clients import ChangeOrder, Client, Contract
from psa.models.currency import ExchangeRate
from psa.models.expenses import Expense, ExpenseCategory, ExpensePolicy
from psa.models.org import LegalEntity, Period
from psa.models.outbox import Delivery, OutboxEvent
from psa.models.people import CostRate, Person, Role
from psa.models.platform import ApiToken, ExternalRef, IdempotencyRecord, WorkerHeartbeat
from psa.models.projects import Milestone, Project, ProjectMember, Task
from psa.models.rates import RateCard, RateCardLine, RateCardOverride
from psa.models.reminders import ReminderLog
from psa.models.templates import ProjectTemplate, TemplateMilestone, TemplateTask
from psa.models.time import RunningTimer, TimeEntry, TimeOff

__all__ = [
    "ApiToken",
    "BaseModel",
    "ChangeOrder",
    "Client",
    "Contract",
    "CostRate",
    "Delivery",
    "ExchangeRate",
    "Expense",
    "ExpenseCategory",
    "ExpensePolicy",
    "ExternalRef",
    "IdempotencyRecord",
    "LegalEntity",
    "Milestone",
    "OutboxEvent",
    "Period",
    "Person",
    "Project",
    "ProjectMember",
    "ProjectTemplate",
    "RateCard",
    "RateCardLine",
    "RateCardOverride",
    "ReminderLog",
    "Role",
    "RunningTimer",
    "Task",
    "TemplateMilestone",
    "TemplateTask",
    "TimeEntry",
    "TimeOff",
    "WorkerHeartbeat",
]
