"""The double's bad moments (kube_double/api_faults.py), as the kubernetes client sees them: the next matching
requests answer 500 or 429 with Retry-After, stall, or are served with their answer lost; the others are not
touched, and a fault is used up after its count."""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from jeju_lab.kube_double import ThreadedKubeServer
from jeju_lab.kube_double.api_faults import ApiFault

from .helpers import NAMESPACE, configmap


def arm(lab: ThreadedKubeServer, **body: object) -> None:
    lab.call(lab.cluster.api_faults.arm, ApiFault.from_json(body))


def test_500_then_429_with_retry_after_then_served_again(lab: ThreadedKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NAMESPACE, configmap("a", {"k": "v"}))
    arm(lab, mode="500", count=1, methods=["get"], path_contains="/configmaps/a")
    arm(lab, mode="429", count=1, methods=["GET"], path_contains="/configmaps/a")
    with pytest.raises(ApiException) as first:
        core.read_namespaced_config_map("a", NAMESPACE)
    assert first.value.status == 500 and "leader changed" in first.value.body
    assert core.list_namespaced_config_map(NAMESPACE).items  # a request that does not match is served
    # a 429 with Retry-After: urllib3 under the kubernetes client waits and asks again by itself (as client-go)
    started = time.monotonic()
    assert core.read_namespaced_config_map("a", NAMESPACE).data == {"k": "v"}
    assert time.monotonic() - started >= 1.0  # Retry-After: 1
    assert core.read_namespaced_config_map("a", NAMESPACE).data == {"k": "v"}  # used up
    hits = lab.call(lab.cluster.api_faults.summary)
    assert [(h["method"], h["mode"]) for h in hits["hits"]] == [("GET", "500"), ("GET", "429")]
    assert hits["armed"] == []


def test_a_lost_answer_is_applied_and_a_stall_is_served_late(lab: ThreadedKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NAMESPACE, configmap("a", {"k": "v"}))
    arm(lab, mode="lost", count=1, methods=["PATCH"])
    with pytest.raises(ApiException) as lost:
        core.patch_namespaced_config_map("a", NAMESPACE, {"data": {"k": "changed"}})
    assert lost.value.status == 500
    assert core.read_namespaced_config_map("a", NAMESPACE).data == {"k": "changed"}  # it was applied
    arm(lab, mode="stall", count=1, stall_seconds=1.0, path_contains="/configmaps/a")
    started = time.monotonic()
    assert core.read_namespaced_config_map("a", NAMESPACE).data == {"k": "changed"}
    assert time.monotonic() - started >= 1.0  # not answered for a while, then answered


@pytest.mark.parametrize(("body", "said"), [
    ({"mode": "503"}, "mode '503': expected one of 500, 429, stall, lost"),
    ({"mode": "500", "count": 0}, "count 0: expected a whole number of requests, at least 1"),
    ({"mode": "500", "count": True}, "count True: expected a whole number of requests, at least 1"),
    ({"mode": "stall", "stall_seconds": 600}, "stall_seconds 600: expected 0 to 120"),
])
def test_a_fault_that_makes_no_sense_is_refused_naming_the_field(body: dict[str, object], said: str) -> None:
    with pytest.raises(ValueError, match="^" + said.replace("(", r"\(").replace(")", r"\)") + "$"):
        ApiFault.from_json(body)
