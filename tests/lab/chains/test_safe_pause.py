from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.logs import DISCARD

from jeju_lab.chains import accounts, safe_tools
from jeju_lab.chains.deploy import L1Deployment
from jeju_play.errors import LabError

from .helpers import lab_contract, revert_reason

OWNER_1, OWNER_2, OWNER_3 = accounts.GUARDIAN_OWNERS


def pause_tx(w3: Web3, deployment: L1Deployment, identifier: str = "jeju-play drill") -> safe_tools.SafeTx:
    return safe_tools.build_pause_tx(w3, deployment.guardian_safe, deployment.superchain_config, identifier)


def config(w3: Web3, deployment: L1Deployment) -> Any:
    return lab_contract(w3, "SuperchainConfig", deployment.superchain_config)


def test_safe_tx_hash_matches_the_safe_contract(w3: Web3, deployment: L1Deployment) -> None:
    tx = pause_tx(w3, deployment)
    on_chain = (
        safe_tools.safe_contract(w3, tx.safe)
        .functions.getTransactionHash(
            tx.to,
            tx.value,
            bytes.fromhex(tx.data[2:]),
            tx.operation,
            tx.safe_tx_gas,
            tx.base_gas,
            tx.gas_price,
            tx.gas_token,
            tx.refund_receiver,
            tx.nonce,
        )
        .call()
    )
    assert on_chain == tx.safe_tx_hash()


def test_two_of_three_owners_pause_the_superchain(w3: Web3, deployment: L1Deployment) -> None:
    signed = safe_tools.sign(pause_tx(w3, deployment, "exploit in progress"), [OWNER_3, OWNER_1])
    assert list(signed.signers) == sorted(signed.signers, key=lambda address: int(address, 16))
    receipt = safe_tools.execute(w3, signed, sender=accounts.USER_ALICE)
    (paused,) = config(w3, deployment).events.Paused().process_receipt(receipt, errors=DISCARD)
    assert paused.args.identifier == "exploit in progress"
    assert config(w3, deployment).functions.paused().call() is True
    portal = lab_contract(w3, "OptimismPortal", deployment.optimism_portal)
    assert portal.functions.paused().call() is True
    safe = safe_tools.safe_contract(w3, deployment.guardian_safe)
    assert (
        safe.events.ExecutionSuccess().process_receipt(receipt, errors=DISCARD)[0].args.txHash
        == signed.tx.safe_tx_hash()
    )
    assert safe.functions.nonce().call() == 1


def test_one_signature_is_refused(w3: Web3, deployment: L1Deployment) -> None:
    signed = safe_tools.sign(pause_tx(w3, deployment), [OWNER_2])
    with pytest.raises(safe_tools.SafeTxRefused, match="GS020"):
        safe_tools.execute(w3, signed, sender=accounts.USER_ALICE)
    assert config(w3, deployment).functions.paused().call() is False
    assert safe_tools.safe_contract(w3, deployment.guardian_safe).functions.nonce().call() == 0


def test_a_non_owner_or_unsorted_signatures_are_refused(w3: Web3, deployment: L1Deployment) -> None:
    tx = pause_tx(w3, deployment)
    with pytest.raises(safe_tools.SafeTxRefused, match="GS026"):
        safe_tools.execute(w3, safe_tools.sign(tx, [OWNER_1, accounts.ATTACKER]), sender=accounts.ATTACKER)
    good = safe_tools.sign(tx, [OWNER_1, OWNER_2])
    raw = bytes.fromhex(good.signatures[2:])
    unsorted = replace(good, signatures="0x" + (raw[65:] + raw[:65]).hex())
    with pytest.raises(safe_tools.SafeTxRefused, match="GS026"):
        safe_tools.execute(w3, unsorted, sender=accounts.USER_ALICE)
    assert config(w3, deployment).functions.paused().call() is False


def test_only_the_guardian_pauses_directly(w3: Web3, deployment: L1Deployment) -> None:
    pause = config(w3, deployment).functions.pause("me")
    for caller in (OWNER_1, accounts.DEPLOYER, accounts.ATTACKER):
        assert "only guardian can pause" in revert_reason(pause, caller)


def test_the_guardian_unpauses(w3: Web3, deployment: L1Deployment) -> None:
    safe_tools.execute(w3, safe_tools.sign(pause_tx(w3, deployment), [OWNER_1, OWNER_2]), accounts.USER_BOB)
    unpause = safe_tools.SafeTx(
        chain_id=w3.eth.chain_id,
        safe=deployment.guardian_safe,
        nonce=1,
        to=deployment.superchain_config,
        data=safe_tools.unpause_calldata(),
    )
    receipt = safe_tools.execute(w3, safe_tools.sign(unpause, [OWNER_2, OWNER_3]), accounts.USER_BOB)
    assert len(config(w3, deployment).events.Unpaused().process_receipt(receipt, errors=DISCARD)) == 1
    assert config(w3, deployment).functions.paused().call() is False


def test_presigned_file_round_trips_and_executes(w3: Web3, deployment: L1Deployment, tmp_path: Path) -> None:
    signed = safe_tools.sign(pause_tx(w3, deployment, "pre-signed pause"), [OWNER_1, OWNER_2])
    path = safe_tools.write_presigned(tmp_path, signed, description="guardian pause, nonce 0")
    assert path.name == "ready-0.json"
    data = json.loads(path.read_text())
    assert data["format"] == safe_tools.FILE_FORMAT
    assert data["safe"] == deployment.guardian_safe and data["to"] == deployment.superchain_config
    assert data["safe_tx_hash"] == "0x" + signed.tx.safe_tx_hash().hex()
    assert len(bytes.fromhex(data["signatures"][2:])) == 130
    assert safe_tools.read_presigned(path) == signed

    safe_tools.execute(w3, safe_tools.read_presigned(path), sender=accounts.FUNDING_WALLET)
    assert config(w3, deployment).functions.paused().call() is True
    with pytest.raises(
        safe_tools.SafeTxRefused, match="GS026"
    ):  # nonce 0 is spent: signatures no longer match
        safe_tools.execute(w3, safe_tools.read_presigned(path), sender=accounts.FUNDING_WALLET)


def test_an_edited_presigned_file_is_refused(w3: Web3, deployment: L1Deployment, tmp_path: Path) -> None:
    path = safe_tools.write_presigned(tmp_path, safe_tools.sign(pause_tx(w3, deployment), [OWNER_1, OWNER_2]))
    data = json.loads(path.read_text())
    data["to"] = deployment.optimism_portal
    path.write_text(json.dumps(data))
    with pytest.raises(LabError, match="safe_tx_hash does not match"):
        safe_tools.read_presigned(path)
    path.write_text("{}")
    with pytest.raises(LabError, match="not a readable pre-signed Safe transaction"):
        safe_tools.read_presigned(path)


def test_presign_pause_uses_the_safes_current_nonce(
    w3: Web3, deployment: L1Deployment, tmp_path: Path
) -> None:
    safe_tools.execute(w3, safe_tools.sign(pause_tx(w3, deployment), [OWNER_1, OWNER_2]), accounts.USER_BOB)
    path = safe_tools.presign_pause(
        w3, deployment.guardian_safe, deployment.superchain_config, tmp_path, [OWNER_2, OWNER_3]
    )
    assert path.name == "ready-1.json"
    loaded = safe_tools.read_presigned(path)
    assert loaded.tx.nonce == 1
    assert set(loaded.signers) == {OWNER_2.address, OWNER_3.address}
