"""safe_tx and output_oracle against the lab's real contracts (Safe v1.4.1, SuperchainConfig, L2OutputOracle)."""

from __future__ import annotations

import pytest
from conftest import dead_url
from eth_abi import encode
from eth_utils import keccak
from web3 import Web3

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.chains import accounts, safe_tools
from jeju_lab.chains.deploy import deploy_l1

OWNER_KEYS = [owner.private_key() for owner in accounts.GUARDIAN_OWNERS]


@pytest.fixture
def l1():
    node = AnvilNode(chain_id=8453).start()
    try:
        yield node, deploy_l1(node.url)
    finally:
        node.stop()


def paused(url: str, config: str) -> bool:
    result = rpc_call(url, "eth_call", [{"to": config, "data": "0x" + keccak(text="paused()")[:4].hex()}, "latest"])
    return int(result, 16) == 1


def test_pause_with_two_of_three_owner_keys(l1, run_module):
    node, d = l1
    call = dict(rpc_urls=[node.url], expect_chain_id=8453, address=d.guardian_safe, to=d.superchain_config,
                pause="exploit in progress")
    simulated = run_module("safe_tx", check=True, action="execute", owner_keys=OWNER_KEYS[:2], **call)
    assert simulated["simulated"] is True and simulated["tx_hash"] is None and not paused(node.url, d.superchain_config)
    done = run_module("safe_tx", action="execute", owner_keys=OWNER_KEYS[1:], **call)
    assert done["executed"] is True and done["changed"] is True and done["tx_hash"]
    assert paused(node.url, d.superchain_config)
    assert not any(key[2:] in str(done) for key in OWNER_KEYS)


def test_pause_with_one_signature_is_refused(l1, run_module):
    node, d = l1
    refused = run_module("safe_tx", action="execute", owner_keys=OWNER_KEYS[:1], rpc_urls=[node.url],
                         address=d.guardian_safe, to=d.superchain_config, pause="exploit")
    assert refused["failed"] and "1 of the 2 signatures" in refused["msg"]
    assert not paused(node.url, d.superchain_config)


def test_pause_with_a_presigned_file_and_a_gs_code_on_a_bad_call(l1, run_module, tmp_path):
    node, d = l1
    w3 = Web3(Web3.HTTPProvider(node.url))
    tx = safe_tools.build_pause_tx(w3, d.guardian_safe, d.superchain_config, "pre-signed pause")
    ready = safe_tools.write_presigned(tmp_path, safe_tools.sign(tx, accounts.GUARDIAN_OWNERS[::2]))
    base = dict(rpc_urls=[dead_url(), node.url], address=d.guardian_safe, presigned_file=str(ready))
    status = run_module("safe_tx", action="status", **base)
    assert status["ready"] is True and status["executed"] is False and status["signatures_count"] == 2
    done = run_module("safe_tx", action="execute", executor_key=accounts.USER_ALICE.private_key(), **base)
    assert done["executed"] is True and paused(node.url, d.superchain_config)
    assert run_module("safe_tx", action="execute", executor_key=accounts.USER_ALICE.private_key(),
                      **base)["changed"] is False
    # a call the Safe cannot make: unpause on a non-contract reverts inside -> GS013 explained
    broken = run_module("safe_tx", action="execute", owner_keys=OWNER_KEYS[:2], rpc_urls=[node.url],
                        address=d.guardian_safe, to=d.l2_output_oracle, data="0xdeadbeef")
    assert broken["failed"] and "GS013" in broken["msg"] and "inner call failed" in broken["msg"]


def test_sign_writes_a_ready_file_the_lab_tools_accept(l1, run_module, tmp_path):
    node, d = l1
    signed = run_module("safe_tx", action="sign", owner_keys=OWNER_KEYS[:2], rpc_urls=[node.url],
                        address=d.guardian_safe, to=d.superchain_config, pause="drill", output_dir=str(tmp_path))
    assert signed["changed"] is True and signed["presigned_file"].endswith("ready-0.json")
    loaded = safe_tools.read_presigned(tmp_path / "ready-0.json")
    assert "0x" + loaded.tx.safe_tx_hash().hex() == signed["safe_tx_hash"]


def test_output_oracle_empty_then_proposed_with_op_node_unreachable(l1, run_module):
    node, d = l1
    empty = run_module("output_oracle", rpc_urls=[dead_url(), node.url], expect_chain_id=8453,
                       address=d.l2_output_oracle)
    assert empty["_rc"] == 0 and empty["latest_index"] is None and empty["proposed"] is False
    assert empty["next_block_number"] == d.submission_interval and empty["proposer"] == d.proposer
    rpc_call(node.url, "evm_increaseTime", [60])
    rpc_call(node.url, "evm_mine", [])
    data = "0x" + keccak(text="proposeL2Output(bytes32,uint256,bytes32,uint256)")[:4].hex() + encode(
        ["bytes32", "uint256", "bytes32", "uint256"], [b"\x11" * 32, d.submission_interval, b"\0" * 32, 0]).hex()
    rpc_call(node.url, "eth_sendTransaction", [{"from": d.proposer, "to": d.l2_output_oracle, "data": data}])
    found = run_module("output_oracle", rpc_urls=[node.url], address=d.l2_output_oracle,
                       op_node_rpc_url=dead_url())
    assert found["latest_index"] == 0 and found["latest_output"]["output_root"] == "0x" + "11" * 32
    assert found["latest_output"]["l2_block_number"] == d.submission_interval
    assert found["mismatch"] is None and "unreachable" in found["op_node_error"]
    assert found["rpc_round_trips"] == 2
