"""The JSON log lines production writes (settings.LOGGING's "json" formatter). Imports no
model: logging is configured before Django's apps are ready."""

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the correlation
    id of the work being done (a deal's, followed through its project, time and invoices) and
    the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        from psa.events import current_correlation_id

        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage(),
                "correlation_id": getattr(record, "correlation_id", None)
                or current_correlation_id()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
