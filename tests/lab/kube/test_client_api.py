"""The kubernetes Python client against the API double: CRUD, selectors, patch types, dryRun, errors."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .helpers import NAMESPACE, configmap, deployment, raw, wait_for


def test_create_get_list_with_versions(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(NAMESPACE, configmap("a", {"k": "v"}, {"app": "x"}))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    fetched = core.read_namespaced_config_map("a", NAMESPACE)
    assert fetched.data == {"k": "v"}
    assert fetched.metadata.resource_version == created.metadata.resource_version
    listed = raw(api, "GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps")
    assert listed["kind"] == "ConfigMapList" and listed["apiVersion"] == "v1"
    assert int(listed["metadata"]["resourceVersion"]) >= int(created.metadata.resource_version)


def test_label_and_field_selectors(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NAMESPACE, configmap("one", {}, {"app": "op-node", "tier": "a"}))
    core.create_namespaced_config_map(NAMESPACE, configmap("two", {}, {"app": "op-batcher", "tier": "a"}))
    core.create_namespaced_config_map(NAMESPACE, configmap("three", {}, {"app": "op-node"}))

    def names(**kwargs: str) -> list[str]:
        return sorted(i.metadata.name for i in core.list_namespaced_config_map(NAMESPACE, **kwargs).items)

    assert names(label_selector="app=op-node") == ["one", "three"]
    assert names(label_selector="app in (op-node,op-batcher),tier") == ["one", "two"]
    assert names(label_selector="app!=op-node") == ["kube-root-ca.crt", "two"]
    assert names(label_selector="!tier") == ["kube-root-ca.crt", "three"]  # every namespace has the CA ConfigMap
    assert names(field_selector="metadata.name=two") == ["two"]
    assert [
        i.metadata.name
        for i in core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=default").items
    ] == ["kube-root-ca.crt"]


def test_errors_are_status_objects(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("nope", NAMESPACE)
    body = json.loads(missing.value.body)
    assert missing.value.status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "nope" not found'

    apps.create_namespaced_deployment(NAMESPACE, deployment())
    with pytest.raises(ApiException) as duplicate:
        apps.create_namespaced_deployment(NAMESPACE, deployment())
    assert duplicate.value.status == 409 and json.loads(duplicate.value.body)["reason"] == "AlreadyExists"

    stale = apps.read_namespaced_deployment("op-node", NAMESPACE)
    apps.patch_namespaced_deployment("op-node", NAMESPACE, {"metadata": {"labels": {"touched": "yes"}}})
    stale.spec.replicas = 5
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("op-node", NAMESPACE, stale)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "Conflict"

    with pytest.raises(ApiException) as invalid:
        apps.patch_namespaced_deployment("op-node", NAMESPACE, {"spec": {"replicas": -1}})
    status = json.loads(invalid.value.body)
    assert invalid.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.replicas"


def test_patch_types(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment())
    strategic = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "op-node",
                            "env": [{"name": "EXTRA", "value": "1"}],
                            "resources": {"limits": {"memory": "2Gi"}},
                        }
                    ]
                }
            }
        }
    }
    result = apps.patch_namespaced_deployment("op-node", NAMESPACE, strategic)
    container = result.spec.template.spec.containers[0]
    assert [e.name for e in container.env] == ["OP_NODE_L1_ETH_RPC", "EXTRA"]
    assert container.image == "op-node:v1.9.0" and container.resources.limits == {"memory": "2Gi"}
    assert result.metadata.generation == 2

    raw(
        api,
        "PATCH",
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/op-node",
        {"metadata": {"annotations": {"owner": "sre"}}, "spec": {"paused": None}},
        "application/merge-patch+json",
    )
    ops = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "op-node:v2"}]
    result = apps.patch_namespaced_deployment("op-node", NAMESPACE, ops)
    assert result.spec.template.spec.containers[0].image == "op-node:v2"
    assert result.metadata.annotations["owner"] == "sre"
    unchanged = apps.patch_namespaced_deployment("op-node", NAMESPACE, {"metadata": {"annotations": {"owner": "sre"}}})
    assert (
        unchanged.metadata.resource_version
        == apps.read_namespaced_deployment("op-node", NAMESPACE).metadata.resource_version
    )


def test_server_side_apply_creates_merges_owners_and_reports_conflicts(api: client.ApiClient) -> None:
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/applied"
    apply = "application/apply-patch+yaml"
    first = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1"}}
    created = raw(api, "PATCH", path, first, apply, query="fieldManager=t")
    assert [(m["manager"], m["operation"]) for m in created["metadata"]["managedFields"]] == [("t", "Apply")]
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {"f:a": {}}}
    raw(api, "PATCH", path, {**first, "data": {"b": "2"}}, apply, query="fieldManager=other")
    read = client.CoreV1Api(api).read_namespaced_config_map
    assert read("applied", NAMESPACE).data == {"a": "1", "b": "2"}  # another manager's fields are merged in
    raw(api, "PATCH", path, {**first, "data": {"c": "3"}}, apply, query="fieldManager=t")
    assert read("applied", NAMESPACE).data == {"b": "2", "c": "3"}  # t dropped `a`, which only t owned
    refused = raw(api, "PATCH", path, {**first, "data": {"b": "changed"}}, apply, query="fieldManager=t")
    assert refused["code"] == 409 and refused["reason"] == "Conflict"
    assert 'conflict with "other": .data.b' in refused["message"]
    forced = raw(api, "PATCH", path, {**first, "data": {"b": "changed"}}, apply, query="fieldManager=t&force=true")
    assert forced["data"] == {"b": "changed"} and [m["manager"] for m in forced["metadata"]["managedFields"]] == ["t"]


def test_dry_run_changes_nothing(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    would_be = apps.create_namespaced_deployment(NAMESPACE, deployment(), dry_run="All")
    assert would_be.metadata.name == "op-node"
    assert apps.list_namespaced_deployment(NAMESPACE).items == []
    apps.create_namespaced_deployment(NAMESPACE, deployment())
    before = apps.read_namespaced_deployment("op-node", NAMESPACE).metadata.resource_version
    patched = apps.patch_namespaced_deployment("op-node", NAMESPACE, {"spec": {"replicas": 7}}, dry_run="All")
    assert patched.spec.replicas == 7
    apps.delete_namespaced_deployment("op-node", NAMESPACE, dry_run="All")
    after = apps.read_namespaced_deployment("op-node", NAMESPACE)
    assert after.spec.replicas == 2 and after.metadata.resource_version == before


def test_delete_cascades_to_replica_sets_and_pods(api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=2))
    wait_for("two pods", lambda: len(core.list_namespaced_pod(NAMESPACE).items) == 2)
    apps.delete_namespaced_deployment("op-node", NAMESPACE)
    assert apps.list_namespaced_replica_set(NAMESPACE).items == []
    assert core.list_namespaced_pod(NAMESPACE).items == []


def test_scale_and_status_subresources(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=1))
    scale = apps.read_namespaced_deployment_scale("op-node", NAMESPACE)
    assert scale.kind == "Scale" and scale.spec.replicas == 1 and scale.status.selector == "app=op-node"
    apps.patch_namespaced_deployment_scale("op-node", NAMESPACE, {"spec": {"replicas": 3}})
    ready = wait_for(
        "3 ready replicas",
        lambda: (
            apps.read_namespaced_deployment_status("op-node", NAMESPACE)
            if apps.read_namespaced_deployment("op-node", NAMESPACE).status.ready_replicas == 3
            else None
        ),
    )
    assert ready.status.observed_generation == ready.metadata.generation
    core = client.CoreV1Api(api)
    claim = {
        "metadata": {"name": "reth-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}},
    }
    core.create_namespaced_persistent_volume_claim(NAMESPACE, claim)
    core.patch_namespaced_persistent_volume_claim_status("reth-data", NAMESPACE, {"status": {"phase": "Bound"}})
    core.patch_namespaced_persistent_volume_claim("reth-data", NAMESPACE, {"status": {"phase": "Lost"}})
    assert core.read_namespaced_persistent_volume_claim("reth-data", NAMESPACE).status.phase == "Bound"


def test_watch_streams_changes(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NAMESPACE, configmap("w1", {}))
    start = core.list_namespaced_config_map(NAMESPACE).metadata.resource_version
    core.patch_namespaced_config_map("w1", NAMESPACE, {"data": {"x": "1"}})
    core.delete_namespaced_config_map("w1", NAMESPACE)
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, NAMESPACE, resource_version=start, timeout_seconds=1
    ):
        events.append((event["type"], event["object"].metadata.name))
    assert events == [("MODIFIED", "w1"), ("DELETED", "w1")]


def test_pod_logs_and_metrics(lab, api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=1))
    pod = wait_for(
        "a running pod",
        lambda: next(
            (p for p in core.list_namespaced_pod(NAMESPACE, field_selector="status.phase=Running").items), None
        ),
    )
    for number in range(5):
        lab.call(lab.cluster.append_log, NAMESPACE, pod.metadata.name, f"t=INFO msg=line{number}")
    text = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE, tail_lines=2)
    assert text == "t=INFO msg=line3\nt=INFO msg=line4\n"
    metrics = raw(api, "GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods")
    assert metrics["items"][0]["containers"][0]["usage"]["memory"] == "65536Ki"
