# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
# The work is done by the action plugin plugins/action/chain_reads.py; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: chain_reads
short_description: Run several of the collection's chain reads at once, in one task
description:
  - Runs each read in O(reads) (one of the collection's read-only chain modules with its own arguments) in the
    controller, all at the same time (one thread each), and returns every read's result under its name.
  - A diagnosis that reads balances, the public RPC, the L2 head, the last batch and the latest output waits for
    the slowest read instead of the sum of them, and pays one task's cost instead of five.
  - Each read's arguments are checked against that module's own argument spec; a bad argument fails the task and
    names the read. A read that fails on its own (an endpoint that does not answer) is reported in its result
    (C(failed), C(msg)) and does not stop the others or fail the task, as a module task with
    C(failed_when) false would.
version_added: 0.4.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.read_only
options:
  reads:
    description:
      - A name (the key of its result) to the read, a dict with C(module) and C(args).
      - C(module) is one of V(account_balance), V(batch_activity), V(bridge_pipeline), V(chain_head),
        V(chain_probe), V(contract_activity), V(fee_market), V(op_node), V(output_oracle), V(rpc_probe).
      - C(args) are that module's options, as its own task would take them.
    type: dict
    required: true
attributes:
  action:
    support: full
    description: Runs on the controller as the action plugin of the same name.
"""

EXAMPLES = r"""
- name: Read the balances and the L2 head at once
  jeju.ops.chain_reads:
    reads:
      balances:
        module: account_balance
        args:
          rpc_urls: "{{ jeju_l1_rpc_urls }}"
          accounts: {batcher: "{{ jeju_addresses.batcher }}"}
          min_balance_eth: 1
      l2:
        module: chain_head
        args:
          rpc_urls: "{{ jeju_l2_rpc_urls }}"
  register: reads
"""

RETURN = r"""
results:
  description: Each read's name to the result its module returns (with C(failed) and C(msg) when it failed).
  returned: success
  type: dict
failed_reads:
  description: The names of the reads that failed on their own, in the order given.
  returned: success
  type: list
  elements: str
seconds:
  description: Each read's name to the seconds it took.
  returned: success
  type: dict
"""
