"""Pages of the expenses part of issue #3: the list, the form and the receipt download."""

from django.urls import path

from psa.views.expenses import (
    ExpenseCreateView,
    ExpenseEditView,
    ExpenseListView,
    ExpenseReceiptView,
)

urlpatterns: list = [
    path("expenses/", ExpenseListView.as_view(), name="expense-list"),
    path("expenses/export.csv", ExpenseListView.as_view(), {"export": True},
         name="expense-export"),
    path("expenses/new/", ExpenseCreateView.as_view(), name="expense-create"),
    path("expenses/<id:pk>/", ExpenseEditView.as_view(), name="expense-edit"),
    path("expenses/<id:pk>/receipt/", ExpenseReceiptView.as_view(), name="expense-receipt"),
]
