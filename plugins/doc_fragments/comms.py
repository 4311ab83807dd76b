# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""The options and behaviour every notification module shares (module_utils.comms.COMMS_ARGS is their spec)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  ledger:
    description:
      - A JSON-lines file (created with its folders when missing) with one line per attempt sequence, C(time),
        C(key), C(service), C(action), C(delivered), C(attempts), C(status) and C(error); never a URL or a
        credential.
      - With O(key), a key the ledger already records as delivered is not sent again (RV(already_sent)).
      - Held under an exclusive lock while a key is checked, sent and recorded, so two runs send it once.
    type: path
  key:
    description:
      - The idempotency key of this message, e.g. C(INC-20261201-1805-a3f2/slack/opened). Needs O(ledger).
    type: str
  retry:
    description:
      - Retries on connection errors, timeouts, HTTP 5xx and 429; other 4xx answers are final.
      - The wait doubles from O(retry.backoff_seconds) up to O(retry.max_backoff_seconds); a 429's
        C(Retry-After) seconds are honoured, capped at O(retry.max_backoff_seconds).
      - The whole sequence takes at most O(retry.attempts) * (O(retry.timeout_seconds) +
        O(retry.max_backoff_seconds)).
    type: dict
    suboptions:
      attempts:
        description: Attempts in all (1 to 20).
        type: int
        default: 4
      backoff_seconds:
        description: The wait after the first failed attempt.
        type: float
        default: 0.5
      max_backoff_seconds:
        description: The longest wait between attempts.
        type: float
        default: 4.0
      timeout_seconds:
        description: Seconds to wait for each attempt's answer.
        type: float
        default: 5.0
  validate_certs:
    description:
      - Check the service's TLS certificate. Proxies come from C(https_proxy), C(http_proxy) and C(no_proxy).
    type: bool
    default: true
  ca_path:
    description: A CA bundle (PEM) to check the service's certificate with, instead of the system's.
    type: path
attributes:
  check_mode:
    support: full
    description:
      - Sends nothing and writes nothing to the ledger; returns C(changed=true) and RV(would_send), a summary of
        the request without its secrets. A key the ledger records as delivered is still reported as already sent.
  diff_mode:
    support: none
    description: A message is sent or not; there is no state to diff.
notes:
  - A delivery failure never fails the task. After the retries it returns RV(delivered=false), RV(error)
    (the service and its answer, never the URL or a credential) and a warning. Bad arguments do fail the task.
  - The ledger lines and the results hold no webhook URL, routing key or API key; those options are C(no_log).
"""
