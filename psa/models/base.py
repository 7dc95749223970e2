"""The columns every master and financial row carries."""

from django.db import models


class BaseModel(models.Model):
    """Abstract: creation and last-change timestamps; `updated_at` is the ETag's source."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True

    @property
    def version(self) -> str:
        """The row's version for ETag and If-Match: its last change, to the microsecond."""
        return self.updated_at.strftime("%Y%m%dT%H%M%S.%f") if self.updated_at else ""
