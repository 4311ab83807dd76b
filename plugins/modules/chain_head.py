#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: chain_head
short_description: Read a chain's head block and tell whether the chain is stalled
description:
  - Asks the first endpoint of O(rpc_urls) that answers for the chain id and the latest block, in one batched
    JSON-RPC request; the next URL is tried when an endpoint cannot be reached.
  - Fails when the chain id differs from O(expect_chain_id), naming both.
  - With O(watch_seconds), waits and reports how many blocks were added meanwhile.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
  - jeju.ops.read_only
options:
  stalled_after:
    description: The chain is stalled when its head block is older than this many seconds.
    type: float
    default: 60
  watch_seconds:
    description: Wait this long and count the blocks added; none added means stalled.
    type: float
    default: 0
"""

EXAMPLES = r"""
- name: Read the Jeju head from the sequencer, then the public RPC
  jeju.ops.chain_head:
    rpc_urls: ["{{ jeju_l2_rpc_url }}", "{{ jeju_l2_public_rpc_url }}"]
    expect_chain_id: "{{ jeju_l2_chain_id }}"
    stalled_after: 60
  register: jeju_head

- name: Watch the chain for 10 seconds after a restart
  jeju.ops.chain_head:
    rpc_urls: ["{{ jeju_l2_rpc_url }}"]
    watch_seconds: 10
  register: jeju_head_watch
"""

RETURN = r"""
chain_id: {description: Chain id served by the endpoint., returned: success, type: int}
number: {description: Latest block number., returned: success, type: int}
hash: {description: Latest block hash., returned: success, type: str}
timestamp: {description: Latest block timestamp (unix seconds)., returned: success, type: int}
age_seconds: {description: Seconds since the latest block's timestamp., returned: success, type: float}
stalled:
  description: Head older than stalled_after, or no block added while watching.
  returned: success
  type: bool
blocks_advanced:
  description: Blocks added during watch_seconds (null without watch_seconds).
  returned: success
  type: int
endpoint: {description: The endpoint that answered (credentials redacted)., returned: always, type: str}
endpoints_tried:
  description: Each endpoint tried, with its error (null when it answered) and latency in milliseconds.
  returned: always
  type: list
  elements: dict
rpc_round_trips: {description: HTTP requests made to the chain., returned: always, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.chain import chain_head
from ansible_collections.jeju.ops.plugins.module_utils.common import rpc_args, run_module

ARGUMENT_SPEC = rpc_args(
    stalled_after=dict(type="float", default=60),
    watch_seconds=dict(type="float", default=0),
)


def read_head(module, client):
    p = module.params
    return dict(changed=False, **chain_head(client, p["expect_chain_id"], p["stalled_after"], p["watch_seconds"]))


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, read_head)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
