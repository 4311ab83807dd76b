# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter open_runs (runbook "Handoff Checklist"): the runs of the window that leave an incident open.

    {{ summaries | jeju.ops.open_runs(jeju_catalog, jeju_environment) }}

summaries are run records' summary.json contents; jeju_catalog the catalog in brief (the runner passes it). A run
is open when it did not end verified (or with its plan shown), is not still running, belongs to this environment
and to an incident that is not a routine procedure. Oldest first.
"""

from __future__ import annotations

CLOSED = ("verified", "plan shown", "running")


def open_runs(summaries, catalog, environment):
    routine = {entry["name"] for entry in catalog or [] if entry.get("routine")}
    runs = [s for s in summaries or [] if s.get("outcome") not in CLOSED and s.get("incident") not in routine
            and s.get("environment") == environment]
    return sorted(runs, key=lambda s: str(s.get("started", "")))


class FilterModule:
    def filters(self):
        return {"open_runs": open_runs}
