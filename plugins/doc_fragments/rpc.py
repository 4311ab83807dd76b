# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""The options every chain-reading module shares (module_utils.common.rpc_args is their argument spec)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  rpc_urls:
    description:
      - JSON-RPC endpoints of one chain, tried in order (failover); the result names the one that answered.
    type: list
    elements: str
    required: true
    aliases: [rpc_url]
  expect_chain_id:
    description: The chain id the endpoints must serve; a different one fails, naming both.
    type: int
  timeout:
    description: Seconds to wait for each endpoint.
    type: float
    default: 5.0
  validate_certs:
    description:
      - Check the endpoints' TLS certificates. Proxies come from C(https_proxy), C(http_proxy) and C(no_proxy).
    type: bool
    default: true
  ca_path:
    description: A CA bundle (PEM) to check the endpoints' certificates with, instead of the system's.
    type: path
"""

    # For modules whose endpoints are their own options (a single URL): only the certificate options.
    TLS = r"""
options:
  validate_certs:
    description:
      - Check the endpoints' TLS certificates. Proxies come from C(https_proxy), C(http_proxy) and C(no_proxy).
    type: bool
    default: true
  ca_path:
    description: A CA bundle (PEM) to check the endpoints' certificates with, instead of the system's.
    type: path
"""
