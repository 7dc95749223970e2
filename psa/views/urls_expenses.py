"""Pages of the expenses part of issue #3."""

urlpatterns: list = []
