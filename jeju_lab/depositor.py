"""The lab's bridge user: user_alice deposits ETH through the OptimismPortal on L1 every few seconds, for user_bob on
L2 (the real `depositTransaction(to, value, gasLimit, isCreation, data)` with the value sent along as the mint).

op-node's sequencer turns each TransactionDeposited event into a deposit transaction on L2 once its L1 origin
passes the event's block (jeju_lab.sim.deposits), so deposits keep flowing while the bridge is healthy and pile
up on L1 when the origin stops. The user talks to the L1 anvil itself, as a wallet with its own provider would:
the lab's endpoint faults do not touch it. Its transactions run in a worker thread (web3 is synchronous).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from web3 import Web3

from jeju_lab.chains import accounts
from jeju_lab.chains.artifacts import lab_artifact
from jeju_lab.chains.transactions import TxBatch

if TYPE_CHECKING:
    from jeju_lab.world import LabWorld

DEPOSIT_EVERY_SECONDS = 4.0  # every other L1 block ("Base" seals one every 2 s)
DEPOSIT_WEI = 10**15  # 0.001 ETH a deposit
DEPOSIT_L2_GAS = 100_000  # the L2 gas limit the deposit asks for (the portal's RECEIVE_DEFAULT_GAS_LIMIT)
DEPOSIT_L1_GAS = 150_000
SENDER = accounts.USER_ALICE
RECIPIENT = accounts.USER_BOB


@dataclass
class Depositor:
    made: int = 0
    failed: int = 0
    last_tx_hash: str = ""
    last_error: str = ""

    def deposit_once(self, l1_url: str, portal: str) -> str:
        """One deposit; returns its L1 transaction hash once mined (LabError when it reverts)."""
        w3 = Web3(Web3.HTTPProvider(l1_url, request_kwargs={"timeout": 10}))
        abi = lab_artifact("OptimismPortal").abi
        contract: Any = w3.eth.contract(address=Web3.to_checksum_address(portal), abi=abi)
        call = contract.functions.depositTransaction(RECIPIENT.address, DEPOSIT_WEI, DEPOSIT_L2_GAS, False, b"")
        batch = TxBatch.start(w3, SENDER.signer())
        tx_hash = batch.send("lab deposit", portal, call._encode_transaction_data(), value=DEPOSIT_WEI,
                             gas=DEPOSIT_L1_GAS)
        batch.wait(timeout=20.0)
        return tx_hash.to_0x_hex()

    async def run(self, world: LabWorld) -> None:
        while True:
            try:
                self.last_tx_hash = await asyncio.to_thread(self.deposit_once, world.l1_url,
                                                            world.deployment.optimism_portal)
                self.made += 1
            except Exception as exc:  # a user retries on the next round, whatever went wrong
                self.failed += 1
                self.last_error = str(exc)
            await asyncio.sleep(DEPOSIT_EVERY_SECONDS)

    def summary(self) -> dict[str, Any]:
        return {"made": self.made, "failed": self.failed, "last_tx_hash": self.last_tx_hash,
                "last_error": self.last_error, "from": SENDER.address, "to": RECIPIENT.address}
