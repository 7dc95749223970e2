"""Pages of the time part of issue #3."""

urlpatterns: list = []
