"""Shared helpers for the API double's conformance tests: sample objects and polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
NAMESPACE = "op-stack"


def deployment(name: str = "op-node", replicas: int = 2, image: str = "op-node:v1.9.0") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {**labels, "tier": "node"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "env": [{"name": "OP_NODE_L1_ETH_RPC", "value": "http://l1:8545"}],
                            "ports": [{"containerPort": 9545, "name": "rpc"}],
                        }
                    ]
                },
            },
        },
    }


def configmap(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels or {}},
        "data": data,
    }


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """Poll until probe() returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def raw(
    api: Any, method: str, path: str, body: Any = None, content_type: str = "application/json", query: str = ""
) -> Any:
    """One HTTP call through the kubernetes client's REST layer; returns the decoded JSON body."""
    import json

    url = api.configuration.host + path + (f"?{query}" if query else "")
    headers = {"Content-Type": content_type, "Accept": "application/json",
               "Authorization": api.configuration.auth_settings()["BearerToken"]["value"]}
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    return json.loads(response.data)
