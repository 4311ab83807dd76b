# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter duration_words: a catalog cadence ("15m", "30m", "1h", "90s") as the runbook writes it ("15 minutes").

    We will provide updates every {{ jeju_incident.update_every | jeju.ops.duration_words }}.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def duration_words(value):
    found = _DURATION.match(str(value))
    if not found:
        raise AnsibleFilterError(f"duration_words: {value!r} is not a duration such as 15m, 1h or 90s")
    count, unit = int(found.group(1)), _UNITS[found.group(2)]
    return f"{count} {unit}{'' if count == 1 else 's'}"


class FilterModule:
    def filters(self):
        return {"duration_words": duration_words}
