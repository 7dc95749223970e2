"""Invoicing, credit notes, tax, numbering, PDFs, payments and receivables (issue #5)."""
