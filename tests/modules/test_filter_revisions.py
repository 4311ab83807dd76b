"""The deployment_revisions filter: a Deployment's revisions as `kubectl rollout history` lists them."""

from __future__ import annotations

from typing import Any

from ansible_collections.jeju.ops.plugins.filter.revisions import deployment_revisions


def replicaset(name: str, owner: str, revision: int, image: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"kind": "Deployment", "name": owner}]},
            "spec": {"template": {"metadata": {"labels": {"app": owner, "pod-template-hash": name[-5:]}},
                                  "spec": {"containers": [{"name": owner, "image": image}]}}}}


def test_revisions_of_one_deployment_oldest_first_ready_to_put_back() -> None:
    items = [replicaset("op-node-bbbbb", "op-node", 2, "op-node:v2"), replicaset("op-batcher-ccccc", "op-batcher", 1,
             "op-batcher:v1"), replicaset("op-node-aaaaa", "op-node", 1, "op-node:v1"), {"metadata": {"name": "bare"}}]
    revisions = deployment_revisions(items, "op-node")
    assert [(r["revision"], r["replicaset"], r["images"]) for r in revisions] == [
        (1, "op-node-aaaaa", ["op-node:v1"]), (2, "op-node-bbbbb", ["op-node:v2"])]
    assert revisions[0]["template"]["metadata"]["labels"] == {"app": "op-node"}  # no pod-template-hash
    assert items[2]["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "aaaaa"  # input untouched
    assert deployment_revisions(items, "reth") == [] and deployment_revisions(None, "op-node") == []
