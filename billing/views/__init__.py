"""Billing's pages (UI.md, Billing): the workbench, invoice runs, invoice review, receivables
and the finance reports. Views are thin: selectors read, services write, the role matrix
decides who may do what."""
