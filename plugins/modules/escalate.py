# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
# The work is done by the action plugin plugins/action/escalate.py; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: escalate
short_description: Hand the incident to humans
description:
  - Ends the play with a failure marked C(escalated=true); the jeju-play runner ends the run with exit code 3
    and records the reason, the facts and the advice for whoever takes over.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
options:
  reason:
    description: Why no automatic fix applies.
    type: str
    required: true
  level:
    description: The runbook's escalation level (1 on-call, 2 engineering lead, 3 CTO, 4 external partners).
    type: int
    default: 2
  contact:
    description: Who to contact, as the runbook names them.
    type: str
  advice:
    description: The runbook's advice for this case.
    type: str
  facts:
    description: The facts that led here, for the record.
    type: dict
attributes:
  action:
    support: full
    description: Runs on the controller as the action plugin of the same name.
  check_mode:
    support: full
    description: Escalates in check mode too; it changes nothing either way.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""

EXAMPLES = r"""
- name: Hand a bad block to the OP Stack team
  jeju.ops.escalate:
    reason: Derivation fails on block 1234; restarts do not help
    level: 4
    contact: OP Labs
    advice: Revert to the last known good block (requires expertise)
"""

RETURN = r"""
escalated:
  description: Always true.
  returned: always
  type: bool
escalation:
  description: reason, level, contact, advice and facts.
  returned: always
  type: dict
"""
