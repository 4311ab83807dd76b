"""Small helpers for the chain tests: contract handles, sending calls, reading revert reasons."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from jeju_lab.chains.accounts import LabAccount
from jeju_lab.chains.artifacts import lab_artifact
from jeju_lab.chains.transactions import TxBatch


def lab_contract(w3: Web3, name: str, address: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=lab_artifact(name).abi)


def transact(w3: Web3, sender: LabAccount, call: Any, value: int = 0, gas: int = 500_000) -> Any:
    """Send a contract call from `sender` and return its receipt (LabError if it reverted)."""
    batch = TxBatch.start(w3, sender.signer())
    batch.send("test call", call.address, call._encode_transaction_data(), value=value, gas=gas)
    return batch.wait()[0]


def revert_reason(call: Any, sender: LabAccount) -> str:
    """The node's revert message for `call` sent by `sender`; fails the test if it does not revert."""
    with pytest.raises(ContractLogicError) as raised:
        call.call({"from": sender.address})
    return str(raised.value)
