"""Standard five-field cron expressions as APScheduler triggers.

APScheduler 3 numbers weekdays from Monday = 0, while cron numbers them from
Sunday = 0 (and 7); numeric weekdays are translated to names so that
"0 6 * * 1" means Monday, as every cron user expects.
"""

from __future__ import annotations

import re

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_field(field: str) -> str:
    """Numeric parts (cron numbering, steps included) become explicit day names; named parts pass through."""
    names: list[str] = []
    for part in field.split(","):
        if re.search(r"[a-z]", part, re.IGNORECASE):
            names.append(part)
            continue
        days, _, step = part.partition("/")
        if days == "*":
            first, last = 0, 6
        else:
            first_text, _, last_text = days.partition("-")
            first = int(first_text)
            last = int(last_text) if last_text else (6 if step else first)
        if not (0 <= first <= 7 and 0 <= last <= 7):
            raise ValueError(f"weekday {part!r} out of range 0-7")
        names.extend(_DAY_NAMES[day % 7] for day in range(first, last + 1, int(step or 1)))
    return ",".join(dict.fromkeys(names))


def cron_trigger(expression: str, timezone: str | None, jitter: int | None = None) -> CronTrigger:
    """Raises ValueError for anything that is not a valid five-field cron expression or time zone (None:
    the server's). `jitter`: each firing up to that many seconds late, at random."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 cron fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        # cron runs when either matches; APScheduler would need both: refuse rather than surprise
        raise ValueError("restrict either the day of month or the weekday, not both")
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_field(weekday),
                       timezone=timezone, jitter=jitter or None)
