"""Billing's domain errors (rendered in the API's one error shape by psa's handler)."""

from psa.common.errors import DomainError, StateConflictError


class InvoiceStateError(StateConflictError):
    """The invoice's status does not allow the operation (e.g. editing an issued invoice)."""

    code = "invoice_state"


class InvoiceValidationError(DomainError):
    """An invoice, line or adjustment breaks a billing rule."""

    code = "invalid_invoice"


class CreditNoteError(DomainError):
    """A credit note cannot be made as asked (nothing to credit, more than was invoiced...)."""

    code = "invalid_credit_note"


class PaymentError(DomainError):
    """A payment cannot be recorded (wrong currency, more than the balance, not issued...)."""

    code = "invalid_payment"


class InvoiceRunError(DomainError):
    """An invoice run cannot start (period closed, another run of the scope in progress...)."""

    code = "invalid_invoice_run"


class BillingTermsError(DomainError):
    """Billing terms are inconsistent (installments not adding up, a policy on both...)."""

    code = "invalid_billing_terms"
