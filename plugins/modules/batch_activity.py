#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: batch_activity
short_description: Find the batcher's last batch on the settlement chain and count batches in a window
description:
  - A batch is a transaction from the batcher to the batch inbox on the settlement chain (Base); batches emit
    no events, so C(cast logs) on the inbox finds nothing.
  - Reads the batcher's nonce at the head and at the start of the window (found by a k-ary search over block
    timestamps, 16 probes per batched request) instead of scanning every block; the block that holds the last
    transaction is found the same way through the nonce, then read once to name the transaction.
  - The count in the window is the number of transactions the batcher sent in it (its nonce delta); the
    batcher address sends nothing but batches. The last batch is checked to go to the inbox.
  - Reading nonces at past blocks needs the node to hold state for them (archive or recent enough).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
  - jeju.ops.read_only
options:
  batcher:
    description: The batcher address registered in SystemConfig.
    type: str
    required: true
  batch_inbox:
    description: The rollup config's batch inbox address.
    type: str
    required: true
  window_seconds:
    description: Count the batches of the last this many seconds (settlement-chain time).
    type: float
    default: 600
"""

EXAMPLES = r"""
- name: Are batches landing on Base?
  jeju.ops.batch_activity:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    expect_chain_id: "{{ jeju_l1_chain_id }}"
    batcher: "{{ jeju_batcher_address }}"
    batch_inbox: "{{ jeju_batch_inbox_address }}"
    window_seconds: 600
  register: jeju_batches
"""

RETURN = r"""
chain_id: {description: Chain id served., returned: success, type: int}
head_block: {description: Settlement-chain head when read., returned: success, type: int}
batcher_nonce: {description: Transactions the batcher has sent., returned: success, type: int}
window_start_block: {description: First block of the window., returned: success, type: int}
batches_in_window: {description: Batcher transactions in the window., returned: success, type: int}
last_batch:
  description: The last batch (C(hash), C(block), C(timestamp), C(age_seconds), C(nonce)); null when none.
  returned: success
  type: dict
endpoint: {description: The endpoint that answered., returned: always, type: str}
endpoints_tried:
  description: Each endpoint tried with error and latency_ms.
  returned: always
  type: list
  elements: dict
rpc_round_trips: {description: HTTP requests made to the chain., returned: always, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.batches import batch_activity
from ansible_collections.jeju.ops.plugins.module_utils.common import checksum, rpc_args, run_module

ARGUMENT_SPEC = rpc_args(
    batcher=dict(type="str", required=True),
    batch_inbox=dict(type="str", required=True),
    window_seconds=dict(type="float", default=600),
)


def read_batches(module, client):
    p = module.params
    batcher, inbox = checksum(p["batcher"], "batcher"), checksum(p["batch_inbox"], "batch_inbox")
    return dict(changed=False, **batch_activity(client, p["expect_chain_id"], batcher, inbox, p["window_seconds"]))


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, read_batches)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
