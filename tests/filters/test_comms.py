"""comms_plan: who hears of an incident's step, from the inventory's jeju_comms and which secrets exist."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.jeju.ops.plugins.filter.comms import comms_plan, comms_resolved_components

from jeju_play.paths import project_root

COMMS = yaml.safe_load((project_root() / "inventories/shared/group_vars/all/comms.yml").read_text())["jeju_comms"]
SLACK = {"incidents": "https://hooks.example/1", "on_call": "https://hooks.example/2"}
KEYS = {"on_call": "k" * 32, "engineering_lead": "l" * 32}
PAGE = {"api_url": "https://status.example/v1", "page_id": "p1",
        "components": {"block_production": "c-blocks", "rpc": "c-rpc"}}


def entry(severity: str, components: list[str] | None = None) -> dict[str, Any]:
    return {"name": "network-down", "severity": severity, "status_components": components or ["block_production"]}


def test_a_p0_opening_posts_pages_on_call_and_opens_the_status_page() -> None:
    plan = comms_plan(entry("P0"), COMMS, SLACK, {}, KEYS, PAGE, "api-key")
    assert plan["chat"] == [{"service": "slack", "channel": "incidents"}]
    assert plan["pagerduty"] == {"service": "on_call", "severity": "critical"}
    assert plan["statuspage"]["components"] == {"c-blocks": "major_outage"}
    assert plan["skipped"] == []


def test_a_p2_is_posted_but_neither_paged_nor_public() -> None:
    plan = comms_plan(entry("P2"), COMMS, SLACK, {}, KEYS, PAGE, "api-key")
    assert plan["chat"] and plan["pagerduty"] is None and plan["statuspage"] is None


@pytest.mark.parametrize(("level", "channels", "service"), [
    (1, ["on_call"], "on_call"),
    (2, ["on_call", "incidents"], "engineering_lead"),
])
def test_an_escalation_tells_its_level(level: int, channels: list[str], service: str) -> None:
    plan = comms_plan(entry("P1"), COMMS, SLACK, {}, KEYS, PAGE, "api-key", level=level)
    assert [c["channel"] for c in plan["chat"]] == channels
    assert plan["pagerduty"]["service"] == service and plan["statuspage"] is None


def test_missing_secrets_are_skipped_and_said() -> None:
    plan = comms_plan(entry("P0"), COMMS, {}, {}, {}, {}, "", level=None)
    assert plan["chat"] == [] and plan["pagerduty"] is None and plan["statuspage"] is None
    assert plan["skipped"] == ["#incidents: no webhook in vault_slack_webhooks or vault_discord_webhooks",
                               "PagerDuty on_call: no routing key in vault_pagerduty_routing_keys",
                               "status page: jeju_statuspage is empty"]


def test_a_component_the_page_does_not_map_is_an_error_that_names_it() -> None:
    with pytest.raises(AnsibleFilterError, match="no id for bridge"):
        comms_plan(entry("P1", ["bridge"]), COMMS, SLACK, {}, KEYS, PAGE, "api-key")
    with pytest.raises(AnsibleFilterError, match="level 7"):
        comms_plan(entry("P1"), COMMS, SLACK, {}, KEYS, PAGE, "api-key", level=7)


def test_resolved_components_are_operational() -> None:
    assert comms_resolved_components({"a": "major_outage", "b": "partial_outage"}) == {"a": "operational",
                                                                                       "b": "operational"}
