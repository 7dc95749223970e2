"""Pages of the approvals part of issue #3."""

urlpatterns: list = []
