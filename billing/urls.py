"""Billing pages (issue #5), included at "billing/" from psa/urls.py.

`billing:invoice-detail` and `billing:run-detail` are the models' `get_absolute_url`.
"""

from django.urls import path

from billing.views.invoice_actions import InvoiceActionView, ItemHoldView, LineEditView
from billing.views.invoices import InvoiceDetailView, InvoiceListView, InvoicePdfView
from billing.views.reports import RealizationView, ReceivablesView, ReconciliationView
from billing.views.runs import RunDetailView, RunProgressView
from billing.views.terms import ContractTermsView
from billing.views.workbench import (
    CapHoldWriteOffView,
    HoldReleaseView,
    RunStartView,
    WorkbenchView,
)

app_name = "billing"

urlpatterns = [
    path("", WorkbenchView.as_view(), name="workbench"),
    path("runs/", RunStartView.as_view(), name="run-start"),
    path("runs/<id:pk>/", RunDetailView.as_view(), name="run-detail"),
    path("runs/<id:pk>/progress/", RunProgressView.as_view(), name="run-progress"),
    path("holds/<id:pk>/release/", HoldReleaseView.as_view(), name="hold-release"),
    path("cap-holds/<id:pk>/write-off/", CapHoldWriteOffView.as_view(),
         name="caphold-write-off"),
    path("invoices/", InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/export.csv", InvoiceListView.as_view(), {"export": True},
         name="invoice-export"),
    path("invoices/<id:pk>/", InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<id:pk>/pdf/", InvoicePdfView.as_view(), name="invoice-pdf"),
    path("invoices/<id:pk>/<slug:action>/", InvoiceActionView.as_view(),
         name="invoice-action"),
    path("lines/<id:pk>/<slug:action>/", LineEditView.as_view(), name="line-edit"),
    path("items/<id:pk>/hold/", ItemHoldView.as_view(), name="item-hold"),
    path("contracts/<id:contract_id>/terms/", ContractTermsView.as_view(),
         name="contract-terms"),
    path("receivables/", ReceivablesView.as_view(), name="receivables"),
    path("realization/", RealizationView.as_view(), name="realization"),
    path("reconciliation/", ReconciliationView.as_view(), name="reconciliation"),
]
