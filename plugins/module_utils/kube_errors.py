# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Whether a Kubernetes API failure is a passing fault of the server, worth asking again.

Transient: 429 Too Many Requests (API priority and fairness), 500, 502, 503 and 504 (an etcd leader election, a
restarting apiserver, a load balancer between), and a connection refused, reset or timed out. Everything else
(401, 403, 404, 409, 422, a bad definition) is an answer, and asking again gives the same one.
"""

from __future__ import annotations

import re

TRANSIENT_CODES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_REASONS = ("too many requests", "internal server error", "bad gateway", "service unavailable",
                     "gateway timeout")
# urllib3's words for an API that did not answer (not kubernetes.core's "Resource scaling timed out" or "Timed
# out waiting on resource": those are waits that ran out, and waiting again is the caller's call)
CONNECTION = ("max retries exceeded", "connection refused", "connection reset", "connection aborted",
              "read timed out", "connect timeout", "remotedisconnected", "eof occurred")
# a Status body ("code":500) or an ApiException's text ("(429)\nReason: Too Many Requests")
CODE = re.compile(r'"code"\s*:\s*(\d{3})|\((\d{3})\)\s*reason:', re.IGNORECASE)


def transient(text: str) -> bool:
    """True when the failure `text` (a message, a reason, an exception's words) is one that may pass."""
    text = text.lower()
    codes = {int(a or b) for a, b in CODE.findall(text)}
    if codes:
        return bool(codes & TRANSIENT_CODES)
    return any(reason in text for reason in TRANSIENT_REASONS) or any(marker in text for marker in CONNECTION)
