"""Durations as the catalog and the inventories write them: "15m", "90s", "1h"; and the runbook's response times
("< 5 minutes", "< 1 hour")."""

from __future__ import annotations

import re

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WORDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RESPONSE = re.compile(r"^\s*<?\s*(\d+)\s*(second|minute|hour|day)s?\s*$", re.I)


def seconds(text: str | None) -> int | None:
    """ "15m" -> 900; None for None, "" or anything else (the caller says what it expected)."""
    if not text or text[-1:] not in UNIT_SECONDS or not text[:-1].isdigit():
        return None
    return int(text[:-1]) * UNIT_SECONDS[text[-1]]


def response_seconds(response_time: str) -> int | None:
    """The runbook's response time in seconds: "< 5 minutes" -> 300; None for "Next business day"."""
    match = _RESPONSE.match(response_time)
    return int(match.group(1)) * _WORDS[match.group(2).lower()] if match else None
