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


class FilterModule:
    def filters(self):
        return {"deployment_revisions": deployment_revisions}
