"""Strategic merge, merge patch and label selectors as the API server applies them (pure functions)."""

from __future__ import annotations

from jeju_lab.kube_double.patching import merge_patch, strategic_merge
from jeju_lab.kube_double.selectors import labels_match, parse_label_selector

POD_SPEC = {
    "containers": [
        {"name": "op-node", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
         "ports": [{"containerPort": 9545}]},
        {"name": "sidecar", "image": "s:1"},
    ],
    "volumes": [{"name": "data", "emptyDir": {}}],
}


def test_containers_and_env_merge_by_name() -> None:
    patch = {"containers": [{"name": "op-node", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]}]}
    merged = strategic_merge(POD_SPEC, patch)
    assert [c["name"] for c in merged["containers"]] == ["op-node", "sidecar"]
    assert merged["containers"][0]["image"] == "a:1"
    assert merged["containers"][0]["env"] == [
        {"name": "X", "value": "1"}, {"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}
    ]


def test_directives_delete_replace_and_order() -> None:
    patch = {
        "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "op-node"}],
        "containers": [{"name": "op-node", "env": [{"name": "X", "$patch": "delete"}]}],
        "volumes": [{"name": "cache", "emptyDir": {}}, {"$patch": "replace"}],
    }
    merged = strategic_merge(POD_SPEC, patch)
    assert [c["name"] for c in merged["containers"]] == ["sidecar", "op-node"]
    assert merged["containers"][1]["env"] == [{"name": "Y", "value": "2"}]
    assert merged["volumes"] == [{"name": "cache", "emptyDir": {}}]


def test_null_removes_and_merge_patch_replaces_lists() -> None:
    assert "volumes" not in strategic_merge(POD_SPEC, {"volumes": None})
    replaced = merge_patch(POD_SPEC, {"containers": [{"name": "only", "image": "o:1"}]})
    assert replaced["containers"] == [{"name": "only", "image": "o:1"}]


def test_label_selector_grammar() -> None:
    obj = {"metadata": {"labels": {"app": "op-node", "tier": "l2"}}}
    assert labels_match(parse_label_selector("app=op-node,tier in (l1, l2)"), obj)
    assert labels_match(parse_label_selector("app==op-node,!legacy"), obj)
    assert not labels_match(parse_label_selector("tier notin (l2)"), obj)
    assert not labels_match(parse_label_selector("app!=op-node"), obj)
