"""Parse `--since` values: a duration back from now (`24h`, `7d`, `30m`) or an ISO date/time (UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """The moment `text` names; ValueError with an example when it names none."""
    value = text.strip().lower()
    match = _DURATION.match(value)
    if match:
        amount, unit = match.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration nor a date: use e.g. 30m, 24h, 7d, 2w, "
            "2026-11-20 or 2026-11-20T08:00 (UTC)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
