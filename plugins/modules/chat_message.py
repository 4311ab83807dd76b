#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: chat_message
short_description: Post an incident message to a Slack or Discord channel through its incoming webhook
description:
  - 'Posts O(text) to the channel behind O(webhook_url), a Slack incoming webhook (body C({"text": ...}),
    answered 200 C(ok)) or a Discord webhook (body C({"content": ...}), answered 204).'
  - Discord takes at most 2000 characters; a longer O(text) is cut to 1999 and ends with C(…).
  - With O(ledger) and O(key) a message is posted once, however often the task runs.
version_added: 0.3.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.comms
options:
  service:
    description: Which webhook O(webhook_url) is.
    type: str
    required: true
    choices: [slack, discord]
  webhook_url:
    description:
      - The incoming webhook URL, from Ansible Vault (it is the credential). Never shown or recorded.
    type: str
    required: true
  text:
    description: The message (Slack mrkdwn or Discord markdown).
    type: str
    required: true
  username:
    description: The name the message is posted under, where the webhook allows it.
    type: str
"""

EXAMPLES = r"""
- name: Tell the incidents channel
  jeju.ops.chat_message:
    service: slack
    webhook_url: "{{ vault_slack_webhooks.incidents }}"
    text: ":rotating_light: {{ jeju_incident_id }} network-down: no new L2 blocks for 2 minutes"
    username: jeju-play
    ledger: "{{ jeju_state_dir }}/comms-ledger.jsonl"
    key: "{{ jeju_incident_id }}/slack/opened"
  register: jeju_slack

- name: Announce it on Discord, in check mode first
  jeju.ops.chat_message:
    service: discord
    webhook_url: "{{ vault_discord_webhooks.announcements }}"
    text: "We are investigating degraded block production on Jeju."
    retry: {attempts: 6, max_backoff_seconds: 8}
  check_mode: true
"""

RETURN = r"""
delivered:
  description:
    - The webhook accepted the message (HTTP 2xx).
    - True too when the ledger records O(key) as delivered by an earlier run (RV(already_sent)).
  returned: always
  type: bool
attempts:
  description: Requests made (0 when nothing was sent).
  returned: always
  type: int
status:
  description: The HTTP status of the last answer; null when there was none (timeout, connection error).
  returned: always
  type: int
error:
  description: Why it was not delivered, e.g. C(Slack answered 500 after 4 attempts); null when delivered.
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
  description: C(slack) or C(discord).
  returned: always
  type: str
action:
  description: C(post).
  returned: always
  type: str
elapsed_seconds:
  description: Seconds the attempts took, waits included.
  returned: when sent
  type: float
would_send:
  description: In check mode, what would be posted (service, action, chars, truncated); no URL.
  returned: check mode
  type: dict
  sample: {service: slack, action: post, chars: 74, truncated: false}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.comms import (
    ArgumentError,
    Message,
    comms_args,
    require_http_url,
    run_notification,
)

DISCORD_MAX_CHARS = 2000

ARGUMENT_SPEC = comms_args(
    service=dict(type="str", required=True, choices=["slack", "discord"]),
    webhook_url=dict(type="str", required=True, no_log=True),
    text=dict(type="str", required=True),
    username=dict(type="str"),
)


def refusal(status, reply):
    """Slack answers a word (invalid_payload, no_service); Discord a JSON message."""
    if isinstance(reply, dict):
        return str(reply.get("message") or "")
    return str(reply or "")[:200]


def chat_request(module, _ledger):
    p = module.params
    require_http_url(p["webhook_url"], "webhook_url")
    text = p["text"]
    if not text or not text.strip():
        raise ArgumentError("text is empty: give the message to post")
    truncated = p["service"] == "discord" and len(text) > DISCORD_MAX_CHARS
    if truncated:
        text = text[:DISCORD_MAX_CHARS - 1] + "…"
    payload = {"text": text} if p["service"] == "slack" else {"content": text}
    if p["username"]:
        payload["username"] = p["username"]
    return Message(p["service"], "post", p["webhook_url"], payload, secret_url=True, describe=refusal,
                   would_send=dict(chars=len(text), truncated=truncated, username=p["username"]))


def run(module):
    """The module after argument parsing (main() here, or the action plugin in the controller)."""
    run_notification(module, module.params["service"], chat_request)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
