#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: safe_tx
short_description: Hash, sign, check and execute a Safe multisig transaction (e.g. the guardian's pause)
description:
  - Reads the Safe's owners, threshold and nonce in one batched request and builds the Safe transaction from
    O(to) with O(data) / O(value), or the O(pause) shortcut (C(pause(string)) on SuperchainConfig), or from a
    pre-signed file.
  - Signatures come from owner keys (O(owner_keys), no_log) and/or a pre-signed file (O(presigned_file),
    C(ready-<nonce>.json) in the C(jeju-play/presigned-safe-tx/v1) format operators keep for pause
    transactions). They are checked against the owners and sorted by owner address, as the Safe requires.
  - C(execute) refuses fewer signatures than the threshold, a nonce that is not the Safe's, and simulates
    C(execTransaction) with C(eth_call) before sending; a revert fails with the contract's reason and the
    Safe's C(GS0xx) code explained. In check mode it only simulates.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
options:
  address:
    description: The Safe.
    type: str
    required: true
  action:
    description:
      - C(hash) returns the safe_tx_hash; C(sign) returns the signatures (and writes C(ready-<nonce>.json) in
        O(output_dir)); C(status) says whether it is ready and executed; C(execute) executes it.
    type: str
    choices: [hash, sign, execute, status]
    default: status
  to:
    description: The called contract (SuperchainConfig for O(pause)). Optional with O(presigned_file).
    type: str
  data:
    description: Calldata (hex).
    type: str
  value:
    description: Wei sent with the call.
    type: raw
    default: 0
  operation:
    description: 0 call, 1 delegatecall.
    type: int
    default: 0
    choices: [0, 1]
  pause:
    description: Shortcut for C(data) = C(pause(string)) with this reason (SuperchainConfig v1).
    type: str
  nonce:
    description: The Safe nonce to use; default the pre-signed file's, else the Safe's current nonce.
    type: int
  owner_keys:
    description: Owner private keys to sign with (from Ansible Vault). Never shown.
    type: list
    elements: str
  presigned_file:
    description: A C(ready-<nonce>.json) file holding the transaction and owner signatures.
    type: path
  output_dir:
    description: With C(action=sign), write C(ready-<nonce>.json) here.
    type: path
  description:
    description: Free text stored in a written pre-signed file.
    type: str
  executor_key:
    description: Key of the account that sends execTransaction and pays gas (default the first owner key).
    type: str
  executor_key_file:
    description: A file holding the executor key.
    type: path
  confirmations:
    description: Blocks to wait for after execution.
    type: int
    default: 1
  receipt_timeout:
    description: Seconds to wait for the receipt.
    type: float
    default: 120
attributes:
  check_mode:
    support: full
    description: C(execute) only simulates; C(sign) writes no file.
  diff_mode:
    support: none
    description: The transaction's fields are returned instead.
"""

EXAMPLES = r"""
- name: Pause the Superchain with the guardian's pre-signed transaction
  jeju.ops.safe_tx:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    expect_chain_id: "{{ jeju_l1_chain_id }}"
    address: "{{ jeju_guardian_safe }}"
    action: execute
    presigned_file: "{{ jeju_presigned_dir }}/ready-{{ jeju_guardian_nonce }}.json"
    executor_key: "{{ vault_jeju_guardian_executor_key }}"

- name: Sign a pause with two owner keys and keep it ready
  jeju.ops.safe_tx:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    address: "{{ jeju_guardian_safe }}"
    to: "{{ jeju_superchain_config }}"
    pause: "security incident {{ jeju_run_id }}"
    action: sign
    owner_keys: ["{{ vault_owner_1_key }}", "{{ vault_owner_2_key }}"]
    output_dir: "{{ jeju_presigned_dir }}"
"""

RETURN = r"""
safe_tx_hash: {description: The EIP-712 SafeTx hash., returned: success, type: str}
tx_hash:
  description: The execTransaction transaction hash (null when not sent).
  returned: always
  type: str
executed: {description: The Safe executed it (ExecutionSuccess)., returned: success, type: bool}
signers:
  description: Owners whose signatures were used, sorted.
  returned: except hash
  type: list
  elements: str
ready: {description: Enough signatures for the threshold., returned: except hash, type: bool}
threshold: {description: The Safe's threshold., returned: success, type: int}
safe_nonce: {description: The Safe's nonce before this run., returned: success, type: int}
revert_reason:
  description: The contract's revert reason with the GS code explained.
  returned: on revert
  type: str
presigned_file: {description: The file written by action=sign., returned: with output_dir, type: str}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.common import read_key, rpc_args, run_module
from ansible_collections.jeju.ops.plugins.module_utils.safe_flow import run_safe_tx

ARGUMENT_SPEC = rpc_args(
    address=dict(type="str", required=True),
    action=dict(type="str", default="status", choices=["hash", "sign", "execute", "status"]),
    to=dict(type="str"),
    data=dict(type="str"),
    value=dict(type="raw", default=0),
    operation=dict(type="int", default=0, choices=[0, 1]),
    pause=dict(type="str"),
    nonce=dict(type="int"),
    owner_keys=dict(type="list", elements="str", no_log=True),
    presigned_file=dict(type="path"),
    output_dir=dict(type="path"),
    description=dict(type="str"),
    executor_key=dict(type="str", no_log=True),
    executor_key_file=dict(type="path"),
    confirmations=dict(type="int", default=1),
    receipt_timeout=dict(type="float", default=120),
)


def safe_tx(module, client):
    params = dict(module.params)
    params["owner_keys"] = [read_key({"owner key": k}, "owner key", "-") for k in params["owner_keys"] or []]
    return run_safe_tx(client, params, module.check_mode)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[("data", "pause"), ("executor_key", "executor_key_file")])
    run_module(module, safe_tx)


if __name__ == "__main__":
    main()
