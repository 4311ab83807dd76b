# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Whether a failed kubernetes.core task met a passing fault of the API server, worth a retry.

    until: result is succeeded or not (result | jeju.ops.kube_transient)

Which failures pass: module_utils/kube_errors.py (429, 5xx, no answer; never a 4xx answer or a wait that ran out).
"""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.module_utils.kube_errors import transient


def kube_transient(result):
    """True when `result` (a registered task result) failed on a fault that may pass: retry it."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    return transient(" ".join(str(result.get(key) or "") for key in ("msg", "reason", "error", "exception")))


class FilterModule:
    def filters(self):
        return {"kube_transient": kube_transient}
