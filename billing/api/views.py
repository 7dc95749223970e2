"""API views of billing: invoice runs, invoices (with their draft edits and transitions),
credit notes and payments (API.md). Each write calls one service in billing.services; lists
call a selector scoped to the user, and every action is mapped to the role matrix."""

from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api import serializers as s
from billing.api.filters import (
    CreditNoteFilter,
    InvoiceFilter,
    InvoiceRunFilter,
    PaymentFilter,
    RunOutcomeFilter,
)
from billing.documents import invoice_pdf_bytes
from billing.errors import InvoiceStateError
from billing.models import BilledItem, Invoice, InvoiceLine, InvoiceRun, RunOutcome
from billing.selectors.invoices import (
    invoice_list,
    payment_list,
    run_list,
    run_outcome_counts,
    run_outcomes,
)
from billing.services.credit_notes import credit_note_create
from billing.services.drafts import (
    draft_delete,
    invoice_update,
    line_adjust,
    line_describe,
)
from billing.services.issue import invoice_approve, invoice_issue, invoice_unapprove, invoice_void
from billing.services.payments import payment_record
from billing.services.runs import invoice_run_start
from psa.api.base import ApiViewSet
from psa.api.schema import ClientErrorResponseSerializer
from psa.api.views.common import crud_schema

OUTCOME_PARAMETERS = [
    OpenApiParameter("reason", str, enum=RunOutcome.Reason.values,
                     description="Only outcomes with this reason."),
    OpenApiParameter("contract", int, description="Only this contract's outcome."),
    OpenApiParameter("exceptions_only", bool,
                     description="Only what finance must look at (no rate, over cap, held, "
                                 "missing tax, currency, failed)."),
]
LINE_ID_PARAMETER = OpenApiParameter("line_id", int, OpenApiParameter.PATH,
                                     description="The id of one of the invoice's lines.")


class FirstRendererNegotiation(BaseContentNegotiation):
    """Ignore `Accept`: the PDF download answers `Accept: application/pdf` with the file and
    renders its errors as JSON, instead of refusing the request with 406."""

    def select_parser(self, request: Request, parsers: Sequence[Any]) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: Sequence[Any],
                        format_suffix: str | None = None) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


# --- Invoice runs -------------------------------------------------------------------------


def _outcome_summaries_attach(runs: Sequence[InvoiceRun]) -> None:
    """Attach each run's outcome counts by reason (one query) for the output serializer."""
    counts = run_outcome_counts(run_ids=[run.pk for run in runs])
    for run in runs:
        setattr(run, s.OUTCOMES_SUMMARY_ATTRIBUTE, counts[run.pk])


@crud_schema(output=s.InvoiceRunOutputSerializer, create=s.InvoiceRunCreateInputSerializer)
class InvoiceRunViewSet(ApiViewSet):
    """Invoice runs: start one (a background job) and follow its progress and outcomes."""

    output_serializer = s.InvoiceRunOutputSerializer
    filterset_class = InvoiceRunFilter
    required_perms = {"list": "billing.view_invoicerun", "retrieve": "billing.view_invoicerun",
                      "outcomes": "billing.view_invoicerun", "create": "billing.add_invoicerun"}

    def get_queryset(self) -> QuerySet:
        return run_list(actor=self.request.user)

    def paginate_queryset(self, queryset: Any) -> list | None:
        page = super().paginate_queryset(queryset)
        if page is not None and self.action == "list":
            _outcome_summaries_attach(page)
        return page

    def detail_response(self, obj: Any, status_code: int = 200) -> Response:
        _outcome_summaries_attach([obj])
        return super().detail_response(obj, status_code)

    def create(self, request: Request) -> Response:
        """Queue a run for a legal entity (or all) up to the cut-off; 201 with the queued job,
        whose progress `GET …/{id}/` then follows."""
        data = self.validated(s.InvoiceRunCreateInputSerializer)
        run = invoice_run_start(actor=request.user, cut_off=data["cut_off"],
                                legal_entity=data.get("legal_entity"))
        return self.detail_response(run, status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.RunOutcomeOutputSerializer(many=True)}, filters=False,
                   parameters=OUTCOME_PARAMETERS)
    @action(detail=True, methods=["get"], filterset_class=None)
    def outcomes(self, request: Request, pk: str) -> Response:
        """What the run did per contract: the invoice created, or why not (the exceptions)."""
        run = self.get_object()
        outcomes = RunOutcomeFilter(request.query_params, queryset=run_outcomes(run=run),
                                    request=request)
        if not outcomes.is_valid():
            raise translate_validation(outcomes.errors)
        page = self.paginate_queryset(outcomes.qs)
        return self.get_paginated_response(s.RunOutcomeOutputSerializer(page, many=True).data)


# --- Invoices and credit notes --------------------------------------------------------------


class InvoiceReadsMixin:
    """The invoice queryset with lines and their source items (three queries per page), and
    the detail response of a document re-read through it after a change."""

    kind: str | None = None

    def get_queryset(self) -> QuerySet:
        invoices = invoice_list(actor=self.request.user)
        if self.kind:
            invoices = invoices.filter(kind=self.kind)
        items = BilledItem.objects.order_by("pk")
        lines = (InvoiceLine.objects.order_by("sequence", "pk")
                 .prefetch_related(Prefetch("items", queryset=items)))
        return invoices.prefetch_related(Prefetch("lines", queryset=lines))

    def invoice_response(self, invoice: Invoice, status_code: int = 200) -> Response:
        return self.detail_response(self.get_queryset().get(pk=invoice.pk), status_code)


INVOICE_OUT = s.InvoiceOutputSerializer


@crud_schema(output=INVOICE_OUT, update=s.InvoiceUpdateInputSerializer)
@extend_schema_view(destroy=extend_schema(responses={204: None}))
class InvoiceViewSet(InvoiceReadsMixin, ApiViewSet):
    """Invoices and credit notes: lines nested with their source items; finance edits drafts
    (notes, line descriptions and adjustments), approves, issues and voids them here."""

    output_serializer = INVOICE_OUT
    filterset_class = InvoiceFilter
    has_external_refs = True
    required_perms = {
        "list": "billing.view_invoice", "retrieve": "billing.view_invoice",
        "pdf": "billing.view_invoice", "partial_update": "billing.change_invoice",
        "adjust_line": "billing.change_invoice", "describe_line": "billing.change_invoice",
        "destroy": "billing.delete_invoice", "approve": "billing.approve_invoice",
        "unapprove": "billing.approve_invoice", "issue": "billing.issue_invoice",
        "void": "billing.void_invoice",
    }

    def partial_update(self, request: Request, pk: str) -> Response:
        """Change a draft's `notes` (409 once approved) and set `external_refs` (any status:
        an ERP writes back its id after the invoice is issued)."""
        invoice = self.get_object()
        data = self.validated(s.InvoiceUpdateInputSerializer, partial=True)
        invoice = invoice_update(invoice=invoice, actor=request.user, notes=data.get("notes"),
                                 external_refs=data.get("external_refs"),
                                 expected_version=self.expected_version)
        return self.invoice_response(invoice)

    def destroy(self, request: Request, pk: str) -> Response:
        """Delete a draft; its items are billable again (409 for any other status)."""
        draft_delete(invoice=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _line(self, invoice: Invoice, line_id: str) -> InvoiceLine:
        return get_object_or_404(InvoiceLine.objects.select_related("invoice"),
                                 invoice=invoice, pk=line_id)

    @extend_schema(request=s.InvoiceLineAdjustInputSerializer, responses={200: INVOICE_OUT},
                   parameters=[LINE_ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>[0-9]{1,18})/adjust",
            url_name="line-adjust")
    def adjust_line(self, request: Request, pk: str, line_id: str) -> Response:
        """Write a draft's line down (negative) or up (positive) with a reason; returns the
        invoice with its totals refreshed."""
        invoice = self.get_object()
        data = self.validated(s.InvoiceLineAdjustInputSerializer)
        line_adjust(line=self._line(invoice, line_id), actor=request.user,
                    adjustment=data["adjustment"], reason=data["adjustment_reason"],
                    note=data["adjustment_note"])
        return self.invoice_response(invoice)

    @extend_schema(request=s.InvoiceLineDescribeInputSerializer, responses={200: INVOICE_OUT},
                   parameters=[LINE_ID_PARAMETER])
    @action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>[0-9]{1,18})/describe",
            url_name="line-describe")
    def describe_line(self, request: Request, pk: str, line_id: str) -> Response:
        """Change a draft line's description; returns the invoice."""
        invoice = self.get_object()
        data = self.validated(s.InvoiceLineDescribeInputSerializer)
        line_describe(line=self._line(invoice, line_id), actor=request.user,
                      description=data["description"])
        return self.invoice_response(invoice)

    @extend_schema(request=None, responses={200: INVOICE_OUT})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """Approve a draft: its lines and totals are frozen (409 unless draft)."""
        invoice = invoice_approve(invoice=self.get_object(), actor=request.user)
        return self.invoice_response(invoice)

    @extend_schema(request=None, responses={200: INVOICE_OUT})
    @action(detail=True, methods=["post"])
    def unapprove(self, request: Request, pk: str) -> Response:
        """Send an approved, unissued invoice back to draft for more edits."""
        invoice = invoice_unapprove(invoice=self.get_object(), actor=request.user)
        return self.invoice_response(invoice)

    @extend_schema(request=s.InvoiceIssueInputSerializer, responses={200: INVOICE_OUT})
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str) -> Response:
        """Issue an approved invoice or credit note: its number, issue and due dates; the PDF
        is rendered and e-mailed in the background (409 unless approved or in a closed
        period)."""
        invoice = self.get_object()
        data = self.validated(s.InvoiceIssueInputSerializer)
        invoice = invoice_issue(invoice=invoice, actor=request.user,
                                issue_date=data.get("issue_date"))
        return self.invoice_response(invoice)

    @extend_schema(request=s.InvoiceVoidInputSerializer, responses={200: INVOICE_OUT})
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str) -> Response:
        """Void a draft or approved invoice with a reason; its items are billable again. An
        issued invoice is corrected by a credit note instead (409)."""
        invoice = self.get_object()
        data = self.validated(s.InvoiceVoidInputSerializer)
        invoice = invoice_void(invoice=invoice, actor=request.user, reason=data["reason"])
        return self.invoice_response(invoice)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                              409: ClientErrorResponseSerializer},  # a draft has no document
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None,
            content_negotiation_class=FirstRendererNegotiation)
    def pdf(self, request: Request, pk: str) -> HttpResponseBase:
        """The issued document as `application/pdf`: the stored file, or rendered now when it
        is not stored yet. Drafts and approved invoices have no document yet (409)."""
        invoice = self.get_object()
        if invoice.status not in Invoice.ISSUED_STATES:
            raise InvoiceStateError(
                f"{invoice} is {invoice.get_status_display().lower()}: only issued documents "
                "have a PDF.", attr="status")
        return HttpResponse(invoice_pdf_bytes(invoice=invoice), content_type="application/pdf",
                            headers={"Content-Disposition":
                                     f'inline; filename="{invoice.number}.pdf"'})


@crud_schema(output=INVOICE_OUT, create=s.CreditNoteCreateInputSerializer)
class CreditNoteViewSet(InvoiceReadsMixin, ApiViewSet):
    """Credit notes (invoices of kind `credit_note`). POST drafts one against an issued
    invoice; approve and issue it with `/invoices/{id}/approve/` and `…/issue/`."""

    kind = Invoice.Kind.CREDIT_NOTE
    output_serializer = INVOICE_OUT
    filterset_class = CreditNoteFilter
    has_external_refs = True
    required_perms = {"list": "billing.view_invoice", "retrieve": "billing.view_invoice",
                      "create": "billing.add_creditnote"}

    def create(self, request: Request) -> Response:
        """Draft a credit note: every line's remaining amount, or the `lines` given (never
        more than what is left to credit of a line)."""
        data = self.validated(s.CreditNoteCreateInputSerializer)
        note = credit_note_create(invoice=data["invoice"], actor=request.user,
                                  reason=data["reason"], lines=data.get("lines"),
                                  release_items=data["release_items"])
        return self.invoice_response(note, status.HTTP_201_CREATED)


# --- Payments -------------------------------------------------------------------------------


@crud_schema(output=s.PaymentOutputSerializer, create=s.PaymentCreateInputSerializer)
class PaymentViewSet(ApiViewSet):
    """Payments received against issued invoices, usually posted by the ERP."""

    output_serializer = s.PaymentOutputSerializer
    filterset_class = PaymentFilter
    required_perms = {"list": "billing.view_payment", "retrieve": "billing.view_payment",
                      "create": "billing.add_payment"}

    def get_queryset(self) -> QuerySet:
        return payment_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        """Record a payment; the invoice becomes partially paid or paid (400 over the
        balance or in another currency, 409 unless the invoice is issued and unpaid)."""
        data = self.validated(s.PaymentCreateInputSerializer)
        payment = payment_record(invoice=data["invoice"], actor=request.user,
                                 amount=data["amount"], received_date=data["received_date"],
                                 reference=data["reference"], currency=data.get("currency"))
        return self.detail_response(self.get_queryset().get(pk=payment.pk),
                                    status.HTTP_201_CREATED)
