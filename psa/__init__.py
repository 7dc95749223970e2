"""The Django project package and the delivery core of the PSA monolith."""

from psa.celery import app as celery_app

__all__ = ["celery_app"]
