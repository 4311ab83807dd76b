"""Safe v1.4.x transactions for the guardian: build the SuperchainConfig pause, hash it (EIP-712), sign it
with owner keys, keep it pre-signed in a `ready-<nonce>.json` file, and execute it.

The file format is documented in jeju_lab/contracts/README.md (the jeju.ops.safe_tx module reads it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_keys.datatypes import Signature
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from jeju_lab.chains.accounts import LabAccount
from jeju_lab.chains.artifacts import SAFE_SINGLETON, lab_artifact, safe_artifact
from jeju_lab.chains.transactions import TxBatch
from jeju_play.errors import LabError

FILE_FORMAT = "jeju-play/presigned-safe-tx/v1"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(uint256 chainId,address verifyingContract)")
SAFE_TX_TYPEHASH = keccak(
    text="SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
    "uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
)
SAFE_ERRORS = {
    "GS013": "the inner call reverted (with safeTxGas and gasPrice 0 the whole Safe transaction reverts)",
    "GS020": "not enough signatures for the threshold (signatures data too short)",
    "GS025": "a pre-approved hash signature is not approved",
    "GS026": "a signature is not from an owner, or signatures are not sorted by owner address",
}


class SafeTxRefused(LabError):
    """The Safe refused a transaction (bad signatures, wrong nonce, failing inner call)."""


@dataclass(frozen=True)
class SafeTx:
    """The ten SafeTx fields plus the Safe and chain that make up the EIP-712 domain."""

    chain_id: int
    safe: str
    nonce: int
    to: str
    data: str
    value: int = 0
    operation: int = 0
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS

    def safe_tx_hash(self) -> bytes:
        domain = keccak(
            encode(["bytes32", "uint256", "address"], [DOMAIN_TYPEHASH, self.chain_id, self.safe])
        )
        struct = keccak(
            encode(
                [
                    "bytes32",
                    "address",
                    "uint256",
                    "bytes32",
                    "uint8",
                    "uint256",
                    "uint256",
                    "uint256",
                    "address",
                    "address",
                    "uint256",
                ],
                [
                    SAFE_TX_TYPEHASH,
                    self.to,
                    self.value,
                    keccak(hexstr=self.data),
                    self.operation,
                    self.safe_tx_gas,
                    self.base_gas,
                    self.gas_price,
                    self.gas_token,
                    self.refund_receiver,
                    self.nonce,
                ],
            )
        )
        return keccak(b"\x19\x01" + domain + struct)


@dataclass(frozen=True)
class SignedSafeTx:
    tx: SafeTx
    signers: tuple[str, ...]  # ascending by address, as the Safe requires
    signatures: str  # 0x + 65-byte r||s||v blocks in the order of `signers`


def pause_calldata(identifier: str) -> str:
    """SuperchainConfig v1 `pause(string)`."""
    return str(
        Web3().eth.contract(abi=lab_artifact("SuperchainConfig").abi).encode_abi("pause", args=[identifier])
    )


def unpause_calldata() -> str:
    return str(Web3().eth.contract(abi=lab_artifact("SuperchainConfig").abi).encode_abi("unpause"))


def safe_contract(w3: Web3, safe: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(safe), abi=safe_artifact(SAFE_SINGLETON).abi)


def build_pause_tx(
    w3: Web3, safe: str, superchain_config: str, identifier: str, nonce: int | None = None
) -> SafeTx:
    """The guardian Safe's pause transaction at `nonce` (default: the Safe's current nonce)."""
    if nonce is None:
        nonce = int(safe_contract(w3, safe).functions.nonce().call())
    return SafeTx(
        chain_id=w3.eth.chain_id,
        safe=Web3.to_checksum_address(safe),
        nonce=nonce,
        to=Web3.to_checksum_address(superchain_config),
        data=pause_calldata(identifier),
    )


def sign(tx: SafeTx, owners: Iterable[LabAccount]) -> SignedSafeTx:
    """EIP-712 signatures (v 27/28) by `owners`, sorted by owner address."""
    digest = tx.safe_tx_hash()
    by_owner = {}
    for owner in owners:
        signed = Account.unsafe_sign_hash(digest, owner.private_key())
        by_owner[owner.address] = (
            signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
        )
    ordered = sorted(by_owner, key=lambda address: int(address, 16))
    return SignedSafeTx(tx, tuple(ordered), "0x" + b"".join(by_owner[a] for a in ordered).hex())


def recover_signers(tx: SafeTx, signatures: str) -> tuple[str, ...]:
    """The addresses that produced each 65-byte EIP-712 signature (v 27/28) over the SafeTx hash."""
    raw = bytes.fromhex(signatures.removeprefix("0x"))
    if not raw or len(raw) % 65:
        raise LabError(f"signatures must be 65-byte blocks, got {len(raw)} bytes")
    digest = tx.safe_tx_hash()
    signers = []
    for start in range(0, len(raw), 65):
        r, s, v = raw[start : start + 32], raw[start + 32 : start + 64], raw[start + 64]
        if v not in (27, 28):
            raise LabError(
                f"signature {start // 65} has v={v}: only EIP-712 signatures (v 27/28) are kept in files"
            )
        signature = Signature(vrs=(v - 27, int.from_bytes(r, "big"), int.from_bytes(s, "big")))
        signers.append(signature.recover_public_key_from_msg_hash(digest).to_checksum_address())
    return tuple(signers)


def execute(w3: Web3, signed: SignedSafeTx, sender: LabAccount, timeout: float = 30.0) -> TxReceipt:
    """Call execTransaction from `sender`; SafeTxRefused (with the GS code explained) if it reverts."""
    tx = signed.tx
    args = [
        tx.to, tx.value, bytes.fromhex(tx.data.removeprefix("0x")), tx.operation, tx.safe_tx_gas, tx.base_gas,
        tx.gas_price, tx.gas_token, tx.refund_receiver, bytes.fromhex(signed.signatures.removeprefix("0x")),
    ]  # fmt: skip
    safe = safe_contract(w3, tx.safe)
    call = safe.functions.execTransaction(*args)
    try:
        gas = int(call.estimate_gas({"from": sender.address}))
    except ContractLogicError as error:
        raise _refusal(tx, str(error)) from error
    batch = TxBatch.start(w3, sender.signer())
    data = safe.encode_abi("execTransaction", args=args)
    batch.send(f"Safe {tx.safe} nonce {tx.nonce}", tx.safe, data, gas=gas + gas // 4)
    return batch.wait(timeout)[0]


def _refusal(tx: SafeTx, message: str) -> SafeTxRefused:
    code = next((code for code in SAFE_ERRORS if code in message), None)
    meaning = SAFE_ERRORS.get(code or "", "see the revert reason")
    return SafeTxRefused(
        f"Safe {tx.safe} refused nonce {tx.nonce}: {message} ({meaning}). "
        "Check the Safe's nonce, owners and threshold, then sign again."
    )


def presigned_path(directory: Path, nonce: int) -> Path:
    return directory / f"ready-{nonce}.json"


def to_file_dict(signed: SignedSafeTx, description: str = "") -> dict[str, Any]:
    tx = signed.tx
    return {
        "format": FILE_FORMAT,
        "description": description,
        "chain_id": tx.chain_id,
        "safe": tx.safe,
        "nonce": tx.nonce,
        "to": tx.to,
        "value": str(tx.value),
        "data": tx.data,
        "operation": tx.operation,
        "safeTxGas": str(tx.safe_tx_gas),
        "baseGas": str(tx.base_gas),
        "gasPrice": str(tx.gas_price),
        "gasToken": tx.gas_token,
        "refundReceiver": tx.refund_receiver,
        "safe_tx_hash": "0x" + tx.safe_tx_hash().hex(),
        "signers": list(signed.signers),
        "signatures": signed.signatures,
    }


def write_presigned(directory: Path, signed: SignedSafeTx, description: str = "") -> Path:
    """Write `ready-<nonce>.json` in `directory` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = presigned_path(directory, signed.tx.nonce)
    path.write_text(json.dumps(to_file_dict(signed, description), indent=2) + "\n")
    return path


def presign_pause(
    w3: Web3,
    safe: str,
    superchain_config: str,
    directory: Path,
    owners: Iterable[LabAccount],
    *,
    identifier: str = "jeju-play pre-signed guardian pause",
    nonce: int | None = None,
) -> Path:
    """Sign the guardian's pause at `nonce` (default: the Safe's nonce); keep it as `ready-<nonce>.json`."""
    signed = sign(build_pause_tx(w3, safe, superchain_config, identifier, nonce), owners)
    return write_presigned(directory, signed, f"SuperchainConfig.pause({identifier!r}) by the guardian Safe")


def read_presigned(path: Path) -> SignedSafeTx:
    """Load and verify a pre-signed file: hash recomputed, signatures recovered and sorted."""
    try:
        data = json.loads(path.read_text())
        tx = SafeTx(
            chain_id=int(data["chain_id"]),
            safe=Web3.to_checksum_address(data["safe"]),
            nonce=int(data["nonce"]),
            to=Web3.to_checksum_address(data["to"]),
            data=str(data["data"]),
            value=int(data["value"]),
            operation=int(data["operation"]),
            safe_tx_gas=int(data["safeTxGas"]),
            base_gas=int(data["baseGas"]),
            gas_price=int(data["gasPrice"]),
            gas_token=Web3.to_checksum_address(data["gasToken"]),
            refund_receiver=Web3.to_checksum_address(data["refundReceiver"]),
        )
        recorded_hash, signatures = str(data["safe_tx_hash"]), str(data["signatures"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LabError(
            f"{path} is not a readable pre-signed Safe transaction ({FILE_FORMAT}): {error}"
        ) from error
    if recorded_hash.lower() != "0x" + tx.safe_tx_hash().hex():
        raise LabError(f"{path}: safe_tx_hash does not match the fields; the file was edited: sign it again.")
    signers = recover_signers(tx, signatures)
    if list(signers) != sorted(signers, key=lambda address: int(address, 16)):
        raise LabError(
            f"{path}: signatures are not sorted by owner address; the Safe would refuse them (GS026)."
        )
    return SignedSafeTx(tx, signers, signatures)
