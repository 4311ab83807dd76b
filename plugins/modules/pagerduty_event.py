#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: pagerduty_event
short_description: Trigger, acknowledge or resolve a PagerDuty alert through the Events API v2
description:
  - Sends one event to the Events API v2 (O(url), e.g. C(https://events.pagerduty.com/v2/enqueue)) for the
    service whose integration key is O(routing_key). Events with the same O(dedup_key) are one alert.
  - A trigger carries the payload (O(summary), cut to 1024 characters, O(source), O(severity) and the optional
    fields) and O(links); acknowledge and resolve carry only the routing key, the action and the dedup key.
  - PagerDuty answers 202; a 400 (invalid event) is final and RV(error) holds PagerDuty's C(errors); a 429 (rate
    limit) is retried.
version_added: 0.3.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.comms
options:
  url:
    description: The Events API v2 enqueue URL, from the inventory.
    type: str
    required: true
  routing_key:
    description: The integration key (32 characters) of the PagerDuty service, from Ansible Vault. Never shown.
    type: str
    required: true
  action:
    description: The event action.
    type: str
    required: true
    choices: [trigger, acknowledge, resolve]
  dedup_key:
    description: The alert's key (at most 255 characters), e.g. the incident id; the same for all its events.
    type: str
    required: true
  summary:
    description: What is wrong, shown as the alert's title. Required to trigger; longer than 1024 characters is cut.
    type: str
  source:
    description: Where it happens, e.g. C(jeju-mainnet/op-node). Required to trigger.
    type: str
  severity:
    description: How bad it is. Required to trigger.
    type: str
    choices: [critical, error, warning, info]
  component:
    description: The part of the source that is affected, e.g. C(sequencer).
    type: str
  group:
    description: The logical group of the source, e.g. C(op-stack).
    type: str
  event_class:
    description: The type of event, e.g. C(network_down); sent as the payload's C(class).
    type: str
  custom_details:
    description: Free-form details shown with the alert.
    type: dict
  links:
    description: Links shown with the alert (trigger only).
    type: list
    elements: dict
    suboptions:
      href:
        description: The link.
        type: str
        required: true
      text:
        description: Its text.
        type: str
"""

EXAMPLES = r"""
- name: Page the on-call
  jeju.ops.pagerduty_event:
    url: "{{ jeju_pagerduty_events_url }}"
    routing_key: "{{ vault_pagerduty_routing_keys.on_call }}"
    action: trigger
    dedup_key: "{{ jeju_incident_id }}"
    summary: "Jeju mainnet: no new L2 blocks for 2 minutes"
    source: jeju-mainnet/op-node
    severity: critical
    component: sequencer
    group: op-stack
    event_class: network_down
    custom_details:
      unsafe_head: 1234567
    links:
      - href: https://runbooks.example/network-down
        text: Runbook
    ledger: "{{ jeju_state_dir }}/comms-ledger.jsonl"
    key: "{{ jeju_incident_id }}/pagerduty/on_call/trigger"

- name: Resolve it when the chain moves again
  jeju.ops.pagerduty_event:
    url: "{{ jeju_pagerduty_events_url }}"
    routing_key: "{{ vault_pagerduty_routing_keys.on_call }}"
    action: resolve
    dedup_key: "{{ jeju_incident_id }}"
"""

RETURN = r"""
delivered:
  description:
    - PagerDuty accepted the event (HTTP 202).
    - True too when the ledger records O(key) as delivered by an earlier run (RV(already_sent)).
  returned: always
  type: bool
dedup_key:
  description: The alert's dedup key (PagerDuty's answer, else O(dedup_key)).
  returned: always
  type: str
attempts:
  description: Requests made (0 when nothing was sent).
  returned: always
  type: int
status:
  description: The HTTP status of the last answer; null when there was none (timeout, connection error).
  returned: always
  type: int
error:
  description:
    - Why it was not delivered, e.g. C(PagerDuty answered 429 after 4 attempts) or the invalid event's C(errors);
      null when delivered.
  returned: always
  type: str
skipped:
  description: Nothing was sent because the ledger records O(key) as delivered.
  returned: always
  type: bool
already_sent:
  description: The ledger records O(key) as delivered; nothing was sent.
  returned: always
  type: bool
service:
  description: C(pagerduty).
  returned: always
  type: str
action:
  description: The event action.
  returned: always
  type: str
elapsed_seconds:
  description: Seconds the attempts took, waits included.
  returned: when sent
  type: float
would_send:
  description: In check mode, what would be sent (action, dedup key, severity, summary length); no key.
  returned: check mode
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.comms import (
    ArgumentError,
    Message,
    comms_args,
    require_http_url,
    run_notification,
)

SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
CLIENT = "jeju-play"

ARGUMENT_SPEC = comms_args(
    url=dict(type="str", required=True),
    routing_key=dict(type="str", required=True, no_log=True),
    action=dict(type="str", required=True, choices=["trigger", "acknowledge", "resolve"]),
    dedup_key=dict(type="str", required=True, no_log=False),
    summary=dict(type="str"),
    source=dict(type="str"),
    severity=dict(type="str", choices=["critical", "error", "warning", "info"]),
    component=dict(type="str"),
    group=dict(type="str"),
    event_class=dict(type="str"),
    custom_details=dict(type="dict"),
    links=dict(type="list", elements="dict", options=dict(
        href=dict(type="str", required=True),
        text=dict(type="str"),
    )),
)


def refusal(status, reply):
    """PagerDuty's 400: {"status": "invalid event", "message": ..., "errors": [...]}."""
    if not isinstance(reply, dict):
        return str(reply or "")[:200]
    errors = reply.get("errors") or []
    head = reply.get("status") or reply.get("message") or ""
    return f"{head}: {'; '.join(str(e) for e in errors)}" if errors else str(head)


def event_request(module, _ledger):
    p = module.params
    require_http_url(p["url"], "url")
    if not p["dedup_key"].strip():
        raise ArgumentError("dedup_key is empty: give the alert's key, e.g. the incident id")
    if len(p["dedup_key"]) > DEDUP_KEY_MAX:
        raise ArgumentError(f"dedup_key is {len(p['dedup_key'])} characters; PagerDuty takes at most {DEDUP_KEY_MAX}")
    event = {"routing_key": p["routing_key"], "event_action": p["action"], "dedup_key": p["dedup_key"]}
    summary = None
    if p["action"] == "trigger":
        summary = p["summary"]
        if len(summary) > SUMMARY_MAX:
            summary = summary[:SUMMARY_MAX - 1] + "…"
        payload = {"summary": summary, "source": p["source"], "severity": p["severity"]}
        for option, field in (("component", "component"), ("group", "group"), ("event_class", "class"),
                              ("custom_details", "custom_details")):
            if p[option] is not None:
                payload[field] = p[option]
        event["payload"] = payload
        if p["links"]:
            event["links"] = [{k: v for k, v in link.items() if v is not None} for link in p["links"]]
        event["client"] = CLIENT

    def dedup_from(delivery):
        reply = delivery.reply if isinstance(delivery.reply, dict) else {}
        return {"dedup_key": reply.get("dedup_key") or p["dedup_key"]} if delivery.delivered else {}

    return Message("pagerduty", p["action"], p["url"], event, secrets=[p["routing_key"]], describe=refusal,
                   fields={"dedup_key": p["dedup_key"]}, on_reply=dedup_from,
                   would_send=dict(dedup_key=p["dedup_key"], severity=p["severity"],
                                   summary_chars=len(summary) if summary else 0,
                                   links=len(event.get("links", []))))


REQUIRED_IF = [("action", "trigger", ("summary", "source", "severity"))]


def run(module):
    """The module after argument parsing (main() here, or the action plugin in the controller)."""
    run_notification(module, "pagerduty", event_request)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_if=REQUIRED_IF))


if __name__ == "__main__":
    main()
