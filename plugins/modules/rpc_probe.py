#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: rpc_probe
short_description: Measure a JSON-RPC endpoint's latency and error rate and say whether it is degraded
description:
  - Sends O(samples) requests (cycling through O(methods)) with O(concurrency) in flight and reports the
    p50, p95 and p99 latency of the successful ones (nearest rank), the error rate and RV(degraded).
  - Degraded means p95 above O(threshold_ms) or an error rate above O(max_error_rate), in every one of up to
    O(rounds) measurements (a round that is not degraded ends the probe).
  - For a plain HTTP health check use M(ansible.builtin.uri) instead.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.read_only
  - jeju.ops.rpc.tls
options:
  url:
    description: The endpoint to probe.
    type: str
    required: true
  methods:
    description:
      - Method names or C({method, params}) dicts.
      - Default C(eth_blockNumber) and an C(eth_call) to the zero address at C(latest).
    type: list
    elements: raw
  samples:
    description: Number of requests.
    type: int
    default: 20
  concurrency:
    description: Requests in flight at once.
    type: int
    default: 4
  threshold_ms:
    description: p95 latency above which the endpoint is degraded.
    type: float
    default: 500
  max_error_rate:
    description: Fraction of failed requests above which the endpoint is degraded.
    type: float
    default: 0.01
  timeout:
    description: Seconds to wait for each request (a timeout counts as an error).
    type: float
    default: 5.0
  rounds:
    description:
      - Measurements at most; a degraded round is measured again after O(pause) seconds, and the endpoint is
        degraded only when every round is (one slow burst is not a slow endpoint).
    type: int
    default: 1
  pause:
    description: Seconds between two rounds.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Probe the public RPC
  jeju.ops.rpc_probe:
    url: "{{ jeju_l2_public_rpc_url }}"
    samples: 50
    concurrency: 10
    threshold_ms: 300
  register: jeju_rpc_probe
"""

RETURN = r"""
p50_ms: {description: Median latency of successful requests (ms)., returned: success, type: float}
p95_ms: {description: 95th percentile latency (ms)., returned: success, type: float}
p99_ms: {description: 99th percentile latency (ms)., returned: success, type: float}
max_ms: {description: Slowest successful request (ms)., returned: success, type: float}
errors: {description: Failed requests., returned: success, type: int}
error_rate: {description: Failed requests / samples., returned: success, type: float}
error_examples: {description: Up to five distinct errors., returned: success, type: list, elements: str}
degraded:
  description: p95 above threshold_ms or error rate above max_error_rate.
  returned: success
  type: bool
reasons: {description: Why it is degraded., returned: success, type: list, elements: str}
rounds:
  description: Each round measured, first to last, with its p95_ms, error_rate and degraded; the other facts
    are the last round's.
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.common import TLS_ARGS, run_module, tls_params
from ansible_collections.jeju.ops.plugins.module_utils.probe import probe

ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    methods=dict(type="list", elements="raw"),
    samples=dict(type="int", default=20),
    concurrency=dict(type="int", default=4),
    threshold_ms=dict(type="float", default=500),
    max_error_rate=dict(type="float", default=0.01),
    timeout=dict(type="float", default=5.0),
    rounds=dict(type="int", default=1),
    pause=dict(type="float", default=2.0),
    **TLS_ARGS,
)


def run_probe(module, _client):
    p = module.params
    if p["samples"] < 1 or p["concurrency"] < 1 or p["rounds"] < 1:
        module.fail_json(msg="samples, concurrency and rounds must be at least 1")
    facts = probe(p["url"], p["methods"], p["samples"], p["concurrency"], p["threshold_ms"],
                  p["max_error_rate"], p["timeout"], tls_params(p), p["rounds"], p["pause"])
    return dict(changed=False, **facts)


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, run_probe, url_key=None)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
