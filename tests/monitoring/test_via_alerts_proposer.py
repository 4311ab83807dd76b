"""proposer-stuck from an alert to a verified recovery (test_via_alerts.py has the others; this one, the longest,
runs on its own worker beside them).

After the recovery the lab's proposer catches up one output per poll, as op-proposer does, so the newest
output's age comes back under the lab's 90 s slowly (1-3 minutes) and crosses it back and forth on the way; the
lab's keep_firing_for (inventories/local monitoring.yml) keeps JejuNoOutputProposed firing through it, so the
alert resolves once, on the run it started (alone: about 245 s).
"""

from __future__ import annotations

import pytest

from tests.monitoring.test_via_alerts import one_run_recovers_via_alerts
from tests.support import LabHandle

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.mark.timeout(960)  # the drill's own limits (quiet 300 s, detect 120 s, run 600 s) speak first
def test_an_output_alert_starts_one_run_that_recovers_once_approved(lab: LabHandle) -> None:
    one_run_recovers_via_alerts(lab, "proposer-stuck", "proposer-unfunded")
