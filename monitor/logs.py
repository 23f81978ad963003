"""The daemon's logs: one line per event, as text or (on request) as JSON lines a log shipper reads, with
the run and engine ids as fields where an event has them."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# fields an event may carry through `extra=`
FIELDS = ("run_id", "engine_id")
# libraries that log full request URLs (keys in query strings) or chat at every start
QUIET = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "alembic", "apscheduler")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        event.update({field: getattr(record, field) for field in FIELDS if hasattr(record, field)})
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def configure(json_lines: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
