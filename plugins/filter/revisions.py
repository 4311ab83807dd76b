# -*- coding: utf-8 -*-
"""Filter deployment_revisions: a Deployment's revisions from its ReplicaSets, as `kubectl rollout history` lists them.

    {{ replicasets | jeju.ops.deployment_revisions('op-node') }}

One entry per ReplicaSet owned by the Deployment, oldest first: revision (int, from the annotation
deployment.kubernetes.io/revision), replicaset (name), images (list) and template (the pod template without the
ReplicaSet's pod-template-hash label, ready to be put back as the Deployment's template: `kubectl rollout undo`).
"""

from __future__ import annotations

import copy

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"


def deployment_revisions(replicasets, deployment):
    revisions = []
    for rs in replicasets or []:
        meta = rs.get("metadata", {})
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("kind") == "Deployment"]
        if not any(o.get("name") == deployment for o in owners):
            continue
        template = copy.deepcopy(rs.get("spec", {}).get("template", {}))
        (template.get("metadata", {}).get("labels") or {}).pop(HASH_LABEL, None)
        revisions.append({
            "revision": int((meta.get("annotations") or {}).get(REVISION, 0)),
            "replicaset": meta.get("name", ""),
            "images": [c.get("image", "") for c in template.get("spec", {}).get("containers", [])],
            "template": template,
        })
    return sorted(revisions, key=lambda item: item["revision"])


def rollback_plan(replicasets, deployments, name, revision=None):
    """Which revision to roll `name` back to: `revision`, else the one before the current.

    Returns cause (roll_back, no_earlier_revision, no_deployment or no_such_revision), cause_text, healthy (false),
    name, current, target (0: none), revisions, images_now, images_then, template (what to put back), and the
    Deployments' names (for the message when `name` is not one of them).
    """
    found = [d for d in deployments or [] if (d.get("metadata") or {}).get("name") == name]
    names = [(d.get("metadata") or {}).get("name") for d in deployments or []]
    plan = {"name": name, "deployments": names, "healthy": False, "current": 0, "target": 0, "revisions": [],
            "images_now": [], "images_then": [], "template": {}}
    if not found:
        return dict(plan, cause="no_deployment", cause_text=f"There is no Deployment {name}",
                    evidence={"deployments": names})
    annotations = found[0]["metadata"].get("annotations") or {}
    current = int(annotations.get(REVISION, 0))
    revisions = deployment_revisions(replicasets, name)
    numbers = [r["revision"] for r in revisions]
    earlier = [n for n in numbers if n < current]
    target = int(revision) if revision not in (None, "") else (earlier[-1] if earlier else 0)
    then = next((r for r in revisions if r["revision"] == target), {})
    plan.update(current=current, target=target, revisions=numbers,
                images_now=[c.get("image", "") for c in found[0]["spec"]["template"]["spec"].get("containers", [])],
                images_then=then.get("images", []), template=then.get("template", {}))
    if revision not in (None, "") and target not in numbers:
        cause, text = "no_such_revision", f"{name} has no revision {target}"
    elif target == 0:
        cause, text = "no_earlier_revision", f"{name} has no revision before {current}"
    else:
        cause, text = "roll_back", f"{name} runs revision {current} ({', '.join(plan['images_now'])})"
    evidence = {"revisions": numbers, "current": current, "target": target, "images_now": plan["images_now"],
                "images_then": plan["images_then"]}
    return dict(plan, cause=cause, cause_text=text, evidence=evidence)


class FilterModule:
    def filters(self):
        return {"deployment_revisions": deployment_revisions, "rollback_plan": rollback_plan}
