"""Which node a pod may go to, as kube-scheduler's filters decide it, and why none fits.

Honoured: the node's Ready condition, a cordon (`spec.unschedulable`, unless the pod tolerates
`node.kubernetes.io/unschedulable`), NoSchedule and NoExecute taints against the pod's tolerations, `nodeSelector`
and required node affinity (matchExpressions on labels, matchFields on metadata.name). Among the nodes that
fit, the one with the fewest pods wins. Not modelled: resource requests against allocatable, pod
(anti-)affinity, topology spread and preferred affinities.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

Obj = dict[str, Any]
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
_AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"


def node_ready(node: Obj) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    """Whether one of the tolerations matches the taint (key, operator Equal/Exists, value, effect)."""
    for toleration in tolerations:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        if toleration.get("operator", "Equal") == "Exists":
            if not toleration.get("key") or toleration.get("key") == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (
                taint.get("value") or ""):
            return True
    return False


def untolerated(pod: Obj, node: Obj, effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> list[Obj]:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if t.get("effect") in effects and not tolerates(tolerations, t)]


def _expression_matches(expression: Obj, value: str | None) -> bool:
    operator, values = expression.get("operator"), [str(v) for v in expression.get("values") or []]
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and values:
        try:
            number, bound = int(value), int(values[0])
        except ValueError:
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def _term_matches(term: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    expressions = term.get("matchExpressions") or []
    node_fields = term.get("matchFields") or []
    if not expressions and not node_fields:
        return False  # an empty term matches no node
    return all(_expression_matches(e, labels.get(e.get("key", ""))) for e in expressions) and all(
        _expression_matches(f, node["metadata"]["name"] if f.get("key") == "metadata.name" else None)
        for f in node_fields)


def affinity_matches(pod: Obj, node: Obj) -> bool:
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != str(v) for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    return not terms or any(_term_matches(term, node) for term in terms)


def _taint_text(taint: Obj) -> str:
    return f"{{{taint.get('key')}: {taint.get('value') or ''}}}"


def why_not(pod: Obj, node: Obj) -> str | None:
    """Why the pod cannot go to this node (kube-scheduler's wording), or None when it fits."""
    taints = untolerated(pod, node)
    unschedulable_tolerated = tolerates((pod.get("spec") or {}).get("tolerations") or [],
                                        {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
    if (node.get("spec") or {}).get("unschedulable") and not unschedulable_tolerated:
        return "node(s) were unschedulable"
    taints = [t for t in taints if t.get("key") != UNSCHEDULABLE_TAINT]
    if taints:
        return f"node(s) had untolerated taint {_taint_text(taints[0])}"
    if not node_ready(node):
        return "node(s) were not ready"
    if not affinity_matches(pod, node):
        return _AFFINITY_MISMATCH
    return None


def pick_node(pod: Obj, nodes: list[Obj], load: Counter[str]) -> tuple[str | None, str]:
    """(node, "") for the least-loaded node that fits, or (None, the FailedScheduling message)."""
    reasons: Counter[str] = Counter()
    fitting = []
    for node in nodes:
        reason = why_not(pod, node)
        if reason is None:
            fitting.append(node["metadata"]["name"])
        else:
            reasons[reason] += 1
    if fitting:
        return min(sorted(fitting), key=lambda name: load[name]), ""
    total = len(nodes)
    described = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    message = f"0/{total} nodes are available: {described or 'no nodes available to schedule pods'}."
    preemption = f" preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    return None, message + preemption
