#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: statuspage
short_description: Open, update and resolve an incident on an Atlassian Statuspage page
description:
  - "Creates an incident on page O(page_id) (C(POST /pages/{page_id}/incidents)) or updates one
    (C(PATCH /pages/{page_id}/incidents/{incident_id})) with a public update O(body), a status and the state of
    the affected O(components). The API key is sent as C(Authorization: OAuth <api_key>)."
  - "Which incident: O(incident_id) when given; else the newest incident the O(ledger) records as delivered
    under a key with the same prefix as O(key) (up to the first C(/): C(INC-20261201-1805-a3f2/statuspage/opened)
    and C(INC-20261201-1805-a3f2/statuspage/resolved) are one incident); else a new one."
  - O(state=resolved) (or O(status=resolved)) sets the status to C(resolved) and every component in O(components)
    to C(operational).
    With no incident to resolve nothing is sent (RV(skipped), a warning).
version_added: 0.3.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.comms
options:
  api_url:
    description: The Statuspage API, e.g. C(https://api.statuspage.io/v1), from the inventory.
    type: str
    required: true
  page_id:
    description: The page's id.
    type: str
    required: true
  api_key:
    description: A Statuspage API key, from Ansible Vault. Never shown or recorded.
    type: str
    required: true
  state:
    description: C(present) opens or updates the incident, C(resolved) resolves it.
    type: str
    choices: [present, resolved]
    default: present
  name:
    description: The incident's title; required when a new incident is created.
    type: str
  status:
    description:
      - The incident's status. Defaults to C(investigating) with O(state=present); O(state=resolved) makes it
        C(resolved).
    type: str
    choices: [investigating, identified, monitoring, resolved]
  body:
    description: The public update text.
    type: str
  components:
    description:
      - Component id to its status, one of C(operational), C(degraded_performance), C(partial_outage),
        C(major_outage), C(under_maintenance). Created incidents list these components as affected.
    type: dict
  incident_id:
    description: The incident to update; found through the ledger when not given.
    type: str
"""

EXAMPLES = r"""
- name: Open the public incident
  jeju.ops.statuspage:
    api_url: "{{ jeju_statuspage.api_url }}"
    page_id: "{{ jeju_statuspage.page_id }}"
    api_key: "{{ vault_statuspage_api_key }}"
    name: Block production halted
    status: investigating
    body: We are investigating a halt in block production on Jeju.
    components:
      "{{ jeju_statuspage.components.block_production }}": major_outage
    ledger: "{{ jeju_state_dir }}/comms-ledger.jsonl"
    key: "{{ jeju_incident_id }}/statuspage/opened"
  register: jeju_statuspage_incident

- name: Resolve it (the incident id comes from the ledger)
  jeju.ops.statuspage:
    api_url: "{{ jeju_statuspage.api_url }}"
    page_id: "{{ jeju_statuspage.page_id }}"
    api_key: "{{ vault_statuspage_api_key }}"
    state: resolved
    body: Block production is back to normal.
    components:
      "{{ jeju_statuspage.components.block_production }}": operational
    ledger: "{{ jeju_state_dir }}/comms-ledger.jsonl"
    key: "{{ jeju_incident_id }}/statuspage/resolved"
"""

RETURN = r"""
delivered:
  description:
    - Statuspage accepted the request (HTTP 2xx).
    - True too when the ledger records O(key) as delivered by an earlier run (RV(already_sent)).
  returned: always
  type: bool
incident_id:
  description: The incident created or updated (for a skipped key, the one the ledger recorded); null when none.
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
  description: Why it was not delivered, e.g. C(Statuspage answered 401 after 1 attempt); null when delivered.
  returned: always
  type: str
skipped:
  description: Nothing was sent, because the ledger records O(key) as delivered or there is no incident to resolve.
  returned: always
  type: bool
already_sent:
  description: The ledger records O(key) as delivered; nothing was sent.
  returned: always
  type: bool
service:
  description: C(statuspage).
  returned: always
  type: str
action:
  description: C(create), C(update) or C(resolve).
  returned: always
  type: str
elapsed_seconds:
  description: Seconds the attempts took, waits included.
  returned: when sent
  type: float
would_send:
  description: In check mode, what would be sent (action, incident id, status, components); no key.
  returned: check mode
  type: dict
"""

from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.comms import (
    ArgumentError,
    Message,
    NothingToSend,
    comms_args,
    require_http_url,
    run_notification,
)

COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")

ARGUMENT_SPEC = comms_args(
    api_url=dict(type="str", required=True),
    page_id=dict(type="str", required=True),
    api_key=dict(type="str", required=True, no_log=True),
    state=dict(type="str", default="present", choices=["present", "resolved"]),
    name=dict(type="str"),
    status=dict(type="str", choices=["investigating", "identified", "monitoring", "resolved"]),
    body=dict(type="str"),
    components=dict(type="dict"),
    incident_id=dict(type="str"),
)


def refusal(status, reply):
    """Statuspage answers {"error": "..."} or {"error": ["...", ...]}."""
    if isinstance(reply, dict):
        error = reply.get("error") or reply.get("message") or ""
        return "; ".join(str(e) for e in error) if isinstance(error, list) else str(error)
    return str(reply or "")[:200]


def checked_components(components):
    for component_id, value in (components or {}).items():
        if value not in COMPONENT_STATUSES:
            raise ArgumentError(f"components[{component_id}] is {value!r}; use one of {', '.join(COMPONENT_STATUSES)}")
    return dict(components or {})


def incident_request(module, ledger):
    p = module.params
    require_http_url(p["api_url"], "api_url")
    if not p["page_id"].strip():
        raise ArgumentError("page_id is empty: give the Statuspage page's id")
    components = checked_components(p["components"])
    resolving = p["state"] == "resolved" or p["status"] == "resolved"
    status = "resolved" if resolving else (p["status"] or "investigating")
    incident_id = p["incident_id"]
    if not incident_id and ledger is not None and p["key"]:
        incident_id = ledger.incident_for(p["key"])
    where = f"the ledger has none under {p['key'].split('/', 1)[0]!r}" if ledger is not None and p["key"] \
        else "no ledger and key were given to find one"
    incidents = f"{p['api_url'].rstrip('/')}/pages/{quote(p['page_id'], safe='')}/incidents"
    headers = {"Authorization": f"OAuth {p['api_key']}"}
    if resolving:
        components = {component_id: "operational" for component_id in components}
    would = dict(incident_id=incident_id, status=status, components=len(components))
    if incident_id is None:
        if resolving:
            raise NothingToSend(f"no Statuspage incident to resolve: no incident_id was given and {where}")
        if not p["name"]:
            raise ArgumentError(f"name is required to create a Statuspage incident (no incident_id was given and "
                                f"{where})")
        incident = {"name": p["name"], "status": status}
        if p["body"] is not None:
            incident["body"] = p["body"]
        if components:
            incident.update(components=components, component_ids=list(components))

        def created(delivery):
            reply = delivery.reply if isinstance(delivery.reply, dict) else {}
            return {"incident_id": reply.get("id")} if delivery.delivered else {}

        return Message("statuspage", "create", incidents, {"incident": incident}, headers=headers,
                       secrets=[p["api_key"]], describe=refusal, fields={"incident_id": None}, on_reply=created,
                       would_send=dict(would, name=p["name"]))
    incident = {"status": status}
    if p["body"] is not None:
        incident["body"] = p["body"]
    if components:
        incident["components"] = components
    return Message("statuspage", "resolve" if resolving else "update",
                   f"{incidents}/{quote(incident_id, safe='')}", {"incident": incident}, method="PATCH",
                   headers=headers, secrets=[p["api_key"]], describe=refusal, fields={"incident_id": incident_id},
                   would_send=would)


def run(module):
    """The module after argument parsing (main() here, or the action plugin in the controller)."""
    run_notification(module, "statuspage", incident_request)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
