"""The endpoints controller (kube-controller-manager's, in the double): every Service with a selector gets an
Endpoints object of the same name listing its pods, Ready ones under `addresses`, the others under
`notReadyAddresses`, with the Service's ports. A Service whose selector matches no pod has an Endpoints object with
no subsets, as on a real cluster: that is how `kubectl get endpoints` shows a selector mismatch.
"""

from __future__ import annotations

from typing import Any

from jeju_lab.kube_double.patching import clone_obj
from jeju_lab.kube_double.resources import POD, by_kind
from jeju_lab.kube_double.store import Store

Obj = dict[str, Any]
SERVICE = by_kind("Service")
ENDPOINTS = by_kind("Endpoints")


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _matches(selector: dict[str, str], pod: Obj) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _address(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"ip": (pod.get("status") or {}).get("podIP", ""), "nodeName": pod.get("spec", {}).get("nodeName", ""),
            "targetRef": {"kind": "Pod", "name": meta["name"], "namespace": meta.get("namespace", ""),
                          "uid": meta.get("uid", "")}}


def subsets_of(service: Obj, pods: list[Obj]) -> list[Obj]:
    selector = (service.get("spec") or {}).get("selector") or {}
    chosen = [p for p in pods if _matches(selector, p) and not p["metadata"].get("deletionTimestamp")
              and (p.get("status") or {}).get("podIP")]
    if not chosen:
        return []
    subset: Obj = {"ports": [{"name": p.get("name", ""), "port": p.get("targetPort", p.get("port")),
                              "protocol": p.get("protocol", "TCP")}
                             for p in (service.get("spec") or {}).get("ports") or []]}
    ready = [_address(p) for p in chosen if _ready(p)]
    not_ready = [_address(p) for p in chosen if not _ready(p)]
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    return [subset]


def sync_endpoints(store: Store) -> None:
    """Write every selector Service's Endpoints (only when they changed)."""
    for service in store.scan(SERVICE):
        if not (service.get("spec") or {}).get("selector"):
            continue  # a Service without a selector has endpoints managed by hand
        meta = service["metadata"]
        namespace, name = meta.get("namespace"), meta["name"]
        subsets = subsets_of(service, store.scan(POD, namespace))
        current = store.peek(ENDPOINTS, namespace, name)
        if current is None:
            store.create(ENDPOINTS, {"apiVersion": "v1", "kind": "Endpoints",
                                     "metadata": {"name": name, "namespace": namespace,
                                                  "labels": dict(meta.get("labels") or {})},
                                     "subsets": subsets})
        elif current.get("subsets", []) != subsets:
            updated = clone_obj(current)
            updated["subsets"] = subsets
            updated["metadata"].pop("resourceVersion", None)
            store.update(ENDPOINTS, updated)
