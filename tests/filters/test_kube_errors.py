"""jeju.ops.kube_transient: which failed kubernetes.core results are worth asking again."""

from __future__ import annotations

import pytest
from ansible_collections.jeju.ops.plugins.filter.kube_errors import kube_transient

STATUS = ("Failed to patch object: b'{{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"{reason}\","
          "\"code\":{code}}}'")

CASES = [
    ("a 500 from etcd's leader election", {"failed": True, "msg": STATUS.format(reason="InternalError", code=500),
                                          "reason": "Internal Server Error"}, True),
    ("a 429 from priority and fairness", {"failed": True, "msg": STATUS.format(reason="TooManyRequests", code=429),
                                          "reason": "Too Many Requests"}, True),
    ("a 503 from a restarting apiserver", {"failed": True, "msg": "(503)\nReason: Service Unavailable"}, True),
    ("connection refused", {"failed": True, "msg": "Failed to get client due to HTTPSConnectionPool(host='127.0.0.1'"
                            ", port=6443): Max retries exceeded with url: /version (Caused by NewConnectionError("
                            "'Failed to establish a new connection: [Errno 111] Connection refused'))"}, True),
    ("a read timeout", {"failed": True, "msg": "Failed to patch object: HTTPSConnectionPool(...): Read timed out. "
                        "(read timeout=5)"}, True),
    ("a lookup's 500 in set_fact", {"failed": True, "msg": "An unhandled exception occurred while running the lookup "
                                    "plugin 'kubernetes.core.k8s'. Error was a <class 'kubernetes.dynamic.exceptions."
                                    "InternalServerError'>, original message: 500\nReason: Internal Server Error"},
     True),
    ("404: the object is not there", {"failed": True, "msg": STATUS.format(reason="NotFound", code=404),
                                      "reason": "Not Found"}, False),
    ("422: the patch is invalid", {"failed": True, "msg": STATUS.format(reason="Invalid", code=422)}, False),
    ("403 even though its text says too many requests",
     {"failed": True, "msg": STATUS.format(reason="Forbidden", code=403) + " too many requests"}, False),
    ("a wait that ran out", {"failed": True, "msg": "Resource scaling timed out"}, False),
    ("a rollout wait that ran out", {"failed": True, "msg": '"Deployment" "op-node": Timed out waiting on resource'},
     False),
    ("a bad definition", {"failed": True, "msg": "Failed to find exact match for apps/v1.Deploymnt"}, False),
    ("succeeded", {"changed": True, "msg": "Internal Server Error"}, False),
    ("not a result", "Internal Server Error", False),
]


@pytest.mark.parametrize(("result", "transient"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_kube_transient(result: object, transient: bool) -> None:
    assert kube_transient(result) is transient
