# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Whether a failed kubernetes.core task met a passing fault of the API server, worth a retry.

    until: result is succeeded or not (result | jeju.ops.kube_transient)

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


def kube_transient(result):
    """True when `result` (a registered task result) failed on a fault that may pass: retry it."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    text = " ".join(str(result.get(key) or "") for key in ("msg", "reason", "error", "exception")).lower()
    codes = {int(a or b) for a, b in CODE.findall(text)}
    if codes:
        return bool(codes & TRANSIENT_CODES)
    return any(reason in text for reason in TRANSIENT_REASONS) or any(marker in text for marker in CONNECTION)


class FilterModule:
    def filters(self):
        return {"kube_transient": kube_transient}
