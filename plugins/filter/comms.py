# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters of roles/comms: who hears of an incident, decided from the inventory's jeju_comms and the vault.

    comms_plan(entry, comms, slack, discord, pagerduty_keys, statuspage, statuspage_key, level=None)
        -> {chat: [{service, channel}], pagerduty: {service, severity} | None, statuspage: {components} | None,
            skipped: [sentences]}

Only names travel in the plan, never a URL or a key: the tasks look each secret up by name where the module
takes it (as a no_log option), so no event or record of the run carries one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

CHAT_SERVICES = ("slack", "discord")


def _level(comms, level):
    levels = comms.get("levels") or []
    try:
        index = int(level) - 1
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"comms_plan: escalation level {level!r} is not 1-4") from None
    if not 0 <= index < len(levels):
        raise AnsibleFilterError(f"comms_plan: escalation level {level} has no entry in jeju_comms.levels")
    return levels[index]


def comms_plan(entry, comms, slack=None, discord=None, pagerduty_keys=None, statuspage=None, statuspage_key=None,
               level=None):
    """The deliveries for an incident's step. level None: the incident's own channels (it opened, changed,
    recovered); a level 1-4: the escalation's channels and PagerDuty service."""
    severity = entry.get("severity")
    webhooks = {"slack": slack or {}, "discord": discord or {}}
    skipped = []
    if level is None:
        channels = list(comms.get("incident_channels") or [])
        paged = _level(comms, 1).get("pagerduty") if severity in (comms.get("page_severities") or []) else None
    else:
        chosen = _level(comms, level)
        channels = list(chosen.get("channels") or [])
        paged = chosen.get("pagerduty")
    chat = [{"service": service, "channel": channel} for channel in channels for service in CHAT_SERVICES
            if webhooks[service].get(channel)]
    for channel in channels:
        if not any(webhooks[service].get(channel) for service in CHAT_SERVICES):
            skipped.append(f"#{channel}: no webhook in vault_slack_webhooks or vault_discord_webhooks")
    pagerduty = None
    if paged:
        if (pagerduty_keys or {}).get(paged):
            pagerduty = {"service": paged, "severity": (comms.get("pagerduty_severity") or {}).get(severity, "error")}
        else:
            skipped.append(f"PagerDuty {paged}: no routing key in vault_pagerduty_routing_keys")
    page = None
    if level is None and severity in (comms.get("public_severities") or []):
        page = _statuspage(entry, comms, statuspage or {}, statuspage_key, skipped)
    return {"chat": chat, "pagerduty": pagerduty, "statuspage": page, "skipped": skipped}


def _statuspage(entry, comms, statuspage, key, skipped):
    if not statuspage.get("api_url"):
        skipped.append("status page: jeju_statuspage is empty")
        return None
    if not key:
        skipped.append("status page: no vault_statuspage_api_key")
        return None
    ids = statuspage.get("components") or {}
    status = (comms.get("component_status") or {}).get(entry.get("severity"), "degraded_performance")
    names = list(entry.get("status_components") or [])
    missing = [name for name in names if name not in ids]
    if missing:
        raise AnsibleFilterError(f"comms_plan: jeju_statuspage.components has no id for {', '.join(missing)} "
                                 f"(the catalog's status_components of {entry.get('name')})")
    return {"components": {ids[name]: status for name in names}, "names": names}


def comms_resolved_components(components):
    """The same components, back to operational."""
    return {component: "operational" for component in (components or {})}


class FilterModule:
    def filters(self):
        return {"comms_plan": comms_plan, "comms_resolved_components": comms_resolved_components}
