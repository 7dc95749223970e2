"""Reads of journal entries: the list with its balanced lines (for the page, the API and the
ERP) and the lines flattened for a CSV export.

Journals are finance's: `revenue.view_journalentry` is granted to all rows or none.
"""

from collections.abc import Iterator, Mapping, Sequence

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch, Q, QuerySet

from psa.rules import visible
from revenue.models import JournalEntry, JournalLine

UserLike = User | AnonymousUser
VIEW_PERM = "revenue.view_journalentry"
EXPORT_HEADER = ("Entry", "Entry date", "Period", "Legal entity", "Source", "Source id",
                 "Contract", "Currency", "Description", "Account role", "Account", "Debit",
                 "Credit")


def journal_entry_list(*, actor: UserLike,
                       filters: Mapping[str, object] | None = None) -> QuerySet[JournalEntry]:
    """Journal entries the actor may see, newest first, with their lines (one extra query
    per page).

    Filters: `legal_entity`, `period` (a month's first day), `source`, `contract`, `q`
    (contract code or description).
    """
    entries = visible(JournalEntry.objects.select_related("legal_entity", "contract")
                      .prefetch_related(Prefetch("lines",
                                                 queryset=JournalLine.objects.order_by("pk"))),
                      actor, VIEW_PERM)
    filters = filters or {}
    for name, lookup in (("legal_entity", "legal_entity_id"), ("period", "period"),
                         ("source", "source"), ("contract", "contract_id")):
        if filters.get(name) not in (None, ""):
            entries = entries.filter(**{lookup: filters[name]})
    search = str(filters.get("q") or "").strip()
    if search:
        entries = entries.filter(Q(contract__code__icontains=search)
                                 | Q(description__icontains=search))
    return entries.order_by("-entry_date", "-pk")


def journal_lines_export(entries: QuerySet[JournalEntry]) -> Iterator[Sequence[object]]:
    """One row per line of `entries` (EXPORT_HEADER's columns), streamed in chunks."""
    sources = dict(JournalEntry.Source.choices)
    entry_ids = entries.prefetch_related(None).order_by().values("pk")
    rows = (JournalLine.objects.filter(entry__in=entry_ids)
            .order_by("-entry__entry_date", "-entry_id", "pk")
            .values_list("entry_id", "entry__entry_date", "entry__period",
                         "entry__legal_entity__code", "entry__source", "entry__source_id",
                         "entry__contract__code", "entry__currency", "entry__description",
                         "account_key", "account_code", "debit", "credit"))
    for row in rows.iterator(chunk_size=2000):
        (entry_id, entry_date, period, entity, source, source_id, contract, currency,
         description, key, code, debit, credit) = row
        yield (entry_id, entry_date, f"{period:%Y-%m}", entity, sources.get(source, source),
               source_id, contract or "", currency, description, key, code, debit, credit)
