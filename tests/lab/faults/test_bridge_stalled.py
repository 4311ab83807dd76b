"""bridge-stalled faults: deposits made on L1 stop reaching L2 (deposits-stuck), or outputs stop landing on the
L2OutputOracle so withdrawals cannot be proven (withdrawals-stuck); the remedy, applied by hand with kubectl,
brings them back. Observed with the real clients: cast and web3 on the L1 endpoints and the public L2 RPC,
op-node's optimism_syncStatus, kubectl."""

from __future__ import annotations

import time

from web3 import Web3

from tests.support import LabHandle

from .helpers import (
    addresses,
    blocks_flow,
    cast,
    contract,
    endpoints,
    eventually,
    kubectl,
    l1,
    l2,
    logs_since,
    op_node,
)

WINDOW_BLOCKS = 5  # inventories/local: jeju_bridge_stalled.deposit_window_blocks


def on_l2(lab: LabHandle, l2_tx: str) -> bool:
    """The public L2 RPC (web3): does the deposit transaction exist there?"""
    try:
        return bool(l2(lab).eth.get_transaction_receipt(l2_tx))  # type: ignore[arg-type]
    except Exception:  # web3's TransactionNotFound
        return False


def deposit_hashes(lab: LabHandle, from_block: int) -> list[tuple[int, str]]:
    """(L1 block, L2 transaction hash) of each deposit since `from_block`, from the raw logs (eth_getLogs)."""
    from jeju_lab.sim.deposits import TRANSACTION_DEPOSITED, Deposit

    w3 = l1(lab)
    raw = w3.eth.get_logs({"address": Web3.to_checksum_address(addresses(lab)["optimism_portal"]),
                           "topics": [TRANSACTION_DEPOSITED], "fromBlock": from_block})  # type: ignore[list-item]
    found = []
    for log in raw:
        deposit = Deposit.from_log({"topics": [t.to_0x_hex() for t in log["topics"]], "data": log["data"].to_0x_hex(),
                                    "blockNumber": hex(log["blockNumber"]), "blockHash": log["blockHash"].to_0x_hex(),
                                    "logIndex": hex(log["logIndex"])})
        found.append((deposit.l1_block, deposit.tx_hash))
    return found


def stuck(lab: LabHandle, from_block: int) -> list[str]:
    """Deposits since `from_block` older than the window whose transaction is not on L2."""
    head = l1(lab).eth.block_number
    return [tx for block, tx in deposit_hashes(lab, from_block) if head - block >= WINDOW_BLOCKS and not on_l2(lab, tx)]


def primary_head(lab: LabHandle) -> int:
    return int(cast("block-number", "--rpc-url", endpoints(lab)["l1_rpc_urls"][0]))


# -- deposits-stuck ---------------------------------------------------------------------------------------------
def test_deposits_stuck_the_origin_stops_while_blocks_are_sealed(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    start = l1(lab).eth.block_number
    eventually(lambda: [tx for _b, tx in deposit_hashes(lab, start) if on_l2(lab, tx)], bool,
               "a deposit included on L2 while healthy", within=20)
    lab.lab.break_fault("deposits-stuck")
    frozen = primary_head(lab)
    since = l1(lab).eth.block_number
    missing = eventually(lambda: stuck(lab, since), bool, "a deposit older than the window and not on L2", within=40)
    assert primary_head(lab) == frozen, "the primary L1 endpoint's head stays where it was"
    assert l1(lab).eth.block_number > frozen + WINDOW_BLOCKS, "while L1 itself moves on (backup endpoint)"
    status = op_node(lab, "optimism_syncStatus")
    assert status["current_l1"]["number"] <= frozen and status["unsafe_l2"]["l1origin"]["number"] <= frozen
    assert blocks_flow(lab, blocks=2), "op-node still seals blocks"
    assert all(not on_l2(lab, tx) for tx in missing)


def test_deposits_stuck_heals_when_op_node_uses_the_backup_l1(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("deposits-stuck")
    since = l1(lab).eth.block_number
    missing = eventually(lambda: stuck(lab, since), bool, "a deposit older than the window and not on L2", within=40)
    backup = endpoints(lab)["l1_rpc_urls"][1]
    kubectl(lab, "set", "env", "deployment/op-node", f"OP_NODE_L1_ETH_RPC={backup}")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=30s")
    eventually(lambda: all(on_l2(lab, tx) for tx in missing), bool, "the stuck deposits on L2", within=40)
    head = l1(lab).eth.block_number
    assert op_node(lab, "optimism_syncStatus")["unsafe_l2"]["l1origin"]["number"] >= head - WINDOW_BLOCKS


# -- withdrawals-stuck --------------------------------------------------------------------------------------------
def next_output_index(lab: LabHandle) -> int:
    oracle = contract(l1(lab), "L2OutputOracle", addresses(lab)["l2_output_oracle"])
    return int(oracle.functions.nextOutputIndex().call())


def test_withdrawals_stuck_no_output_lands_while_the_safe_head_moves(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    lab.lab.break_fault("withdrawals-stuck")
    index = next_output_index(lab)
    safe = op_node(lab, "optimism_syncStatus")["safe_l2"]["number"]
    eventually(lambda: logs_since(lab, "op-proposer", started).count("i/o timeout"), lambda n: n >= 1,
               "op-proposer fails to reach op-node", within=20)
    eventually(lambda: op_node(lab, "optimism_syncStatus")["safe_l2"]["number"], lambda n: n > safe + 10,
               "the safe head moving on by more than an output's interval", within=40)
    assert next_output_index(lab) <= index + 1, "no output lands after the one that may have been in flight"


def test_withdrawals_stuck_heals_with_a_proposer_restart(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("withdrawals-stuck")
    time.sleep(2)
    kubectl(lab, "rollout", "restart", "deployment/op-proposer")
    kubectl(lab, "rollout", "status", "deployment/op-proposer", "--timeout=20s")
    index = next_output_index(lab)
    eventually(lambda: next_output_index(lab), lambda n: n > index, "a new output on the oracle", within=40)
