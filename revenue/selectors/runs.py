"""Reads of recognition runs: the list, one run, what it posted per contract, and the amounts
it posted per currency (a legal entity's contracts need not share one currency).

Runs are finance's: `revenue.view_recognitionrun` is granted to all rows or none.
"""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import OuterRef, QuerySet, Subquery, Sum

from psa.rules import visible
from revenue.models import JournalEntry, RecognitionEntry, RecognitionRun

UserLike = User | AnonymousUser
VIEW_PERM = "revenue.view_recognitionrun"


def recognition_run_list(*, actor: UserLike) -> QuerySet[RecognitionRun]:
    """Recognition runs the actor may see, newest first."""
    return visible(RecognitionRun.objects.select_related("legal_entity", "started_by__person"),
                   actor, VIEW_PERM).order_by("-created_at", "-pk")


def recognition_run_get(*, actor: UserLike, run_id: int) -> RecognitionRun:
    """One run (raises RecognitionRun.DoesNotExist when missing or not visible)."""
    return recognition_run_list(actor=actor).get(pk=run_id)


def run_entries(*, run: RecognitionRun) -> QuerySet[RecognitionEntry]:
    """What the run posted, one row per contract and month, with the journal entry's id
    (`journal_entry_id`), by contract code."""
    journal = JournalEntry.objects.filter(source=JournalEntry.Source.RECOGNITION,
                                          source_id=OuterRef("pk")).values("pk")[:1]
    return (RecognitionEntry.objects.filter(run=run)
            .select_related("contract", "contract__client")
            .annotate(journal_entry_id=Subquery(journal))
            .order_by("contract__code", "month", "pk"))


def run_amounts_by_currency(*, run_ids: Sequence[int]) -> dict[int, list[tuple[str, Decimal]]]:
    """Per run: [(currency, amount posted)] in currency order (one query)."""
    amounts: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in (RecognitionEntry.objects.filter(run_id__in=list(run_ids)).order_by()
                .values("run_id", "currency").annotate(amount=Sum("amount"))
                .order_by("run_id", "currency")):
        amounts[row["run_id"]].append((row["currency"], row["amount"]))
    return {run_id: amounts.get(run_id, []) for run_id in run_ids}
