# -*- coding: utf-8 -*-
"""Safe (v1.3/1.4) transactions: EIP-712 hash, owner signatures, pre-signed files, simulation, execution.

Pre-signed file (`ready-<nonce>.json`, format `jeju-play/presigned-safe-tx/v1`, written by the lab's
safe_tools and by this module's `sign` action): chain_id, safe, nonce, to, value, data, operation, safeTxGas,
baseGas, gasPrice, gasToken, refundReceiver, safe_tx_hash, signers, signatures (65-byte blocks, sorted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ansible_collections.jeju.ops.plugins.module_utils.abi import decode, encode_call, eth_call
from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure
from ansible_collections.jeju.ops.plugins.module_utils.rpc import Call, RpcClient, check_chain_id, hex_int

FILE_FORMAT = "jeju-play/presigned-safe-tx/v1"
ZERO = "0x0000000000000000000000000000000000000000"
SAFE_ERRORS = {
    "GS010": "not enough gas to execute the Safe transaction",
    "GS011": "could not pay gas costs with ether",
    "GS013": "the inner call failed (with safeTxGas and gasPrice 0 the Safe reverts): check to/data",
    "GS020": "signatures data too short: fewer signatures than the threshold",
    "GS021": "invalid contract signature location (inside static part)",
    "GS024": "invalid contract signature",
    "GS025": "hash not approved by the owner of a pre-approved signature",
    "GS026": "a signer is not an owner, or signatures are not sorted by owner address ascending",
    "GS030": "only owners can approve a hash",
    "GS031": "method can only be called from the Safe itself",
}
EXEC_SIG = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
EXEC_TYPES = ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address", "bytes"]


@dataclass(frozen=True)
class SafeTx:
    chain_id: int
    safe: str
    nonce: int
    to: str
    data: str = "0x"
    value: int = 0
    operation: int = 0
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO
    refund_receiver: str = ZERO

    def hash(self) -> bytes:
        from eth_abi import encode
        from eth_utils import keccak

        domain = keccak(encode(["bytes32", "uint256", "address"], [
            keccak(text="EIP712Domain(uint256 chainId,address verifyingContract)"), self.chain_id, self.safe]))
        struct = keccak(encode(
            ["bytes32", "address", "uint256", "bytes32", "uint8", "uint256", "uint256", "uint256", "address",
             "address", "uint256"],
            [keccak(text="SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,"
                         "uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"),
             self.to, self.value, keccak(hexstr=self.data), self.operation, self.safe_tx_gas, self.base_gas,
             self.gas_price, self.gas_token, self.refund_receiver, self.nonce]))
        return keccak(b"\x19\x01" + domain + struct)

    def hash_hex(self) -> str:
        return "0x" + self.hash().hex()

    def exec_data(self, signatures: bytes) -> str:
        return encode_call(EXEC_SIG, EXEC_TYPES, [
            self.to, self.value, bytes.fromhex(self.data[2:]), self.operation, self.safe_tx_gas, self.base_gas,
            self.gas_price, self.gas_token, self.refund_receiver, signatures])


@dataclass(frozen=True)
class SafeState:
    chain_id: int
    nonce: int
    threshold: int
    owners: tuple[str, ...]


def pause_data(reason: str) -> str:
    return encode_call("pause(string)", ["string"], [reason])


def read_safe(client: RpcClient, safe: str, expect_chain_id: int | None, extra: list[Call] = ()) -> tuple:
    """(SafeState, results of `extra`) in one batched request."""
    from eth_utils import to_checksum_address

    chain_id, code, nonce, threshold, owners, *more = client.require([
        Call("eth_chainId"), Call("eth_getCode", [safe, "latest"]), eth_call(safe, "nonce()"),
        eth_call(safe, "getThreshold()"), eth_call(safe, "getOwners()"), *extra])
    chain_id = check_chain_id(client, chain_id, expect_chain_id)
    if code in (None, "0x"):
        raise ModuleFailure(f"no contract at Safe address {safe} on chain {chain_id} ({client.endpoint})")
    owner_list = tuple(to_checksum_address(o) for o in decode(["address[]"], owners)[0])
    return SafeState(chain_id, decode(["uint256"], nonce)[0], decode(["uint256"], threshold)[0], owner_list), more


def sign_with_keys(tx: SafeTx, keys: list[str]) -> dict[str, bytes]:
    """owner address -> 65-byte EIP-712 signature (v 27/28)."""
    from eth_account import Account

    digest, out = tx.hash(), {}
    for key in keys:
        signed = Account.unsafe_sign_hash(digest, key)
        out[Account.from_key(key).address] = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes(
            [signed.v])
    return out


def recover(tx: SafeTx, signatures: bytes) -> dict[str, bytes]:
    """owner address -> signature for each 65-byte block (EIP-712, eth_sign or pre-approved)."""
    from eth_keys import keys
    from eth_utils import keccak, to_checksum_address

    if len(signatures) % 65:
        raise ModuleFailure(f"signatures are {len(signatures)} bytes, not 65-byte blocks")
    digest, out = tx.hash(), {}
    for start in range(0, len(signatures), 65):
        block = signatures[start:start + 65]
        r, s, v = int.from_bytes(block[:32], "big"), int.from_bytes(block[32:64], "big"), block[64]
        if v == 1:  # pre-approved hash: r holds the owner
            owner = to_checksum_address(block[12:32])
        elif v in (27, 28):
            owner = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest).to_checksum_address()
        elif v in (31, 32):
            prefixed = keccak(b"\x19Ethereum Signed Message:\n32" + digest)
            owner = keys.Signature(vrs=(v - 31, r, s)).recover_public_key_from_msg_hash(prefixed).to_checksum_address()
        else:
            raise ModuleFailure(f"signature {start // 65} has v={v}: contract signatures are not supported here")
        out[owner] = bytes(block)
    return out


def ordered_signatures(found: dict[str, bytes], state: SafeState, safe: str) -> tuple[bytes, list[str]]:
    """Owners' signatures sorted by owner address ascending, as the Safe checks them; refuses non-owners."""
    owners = {o.lower() for o in state.owners}
    strangers = sorted(a for a in found if a.lower() not in owners)
    if strangers:
        raise ModuleFailure(f"signatures from {', '.join(strangers)}, who are not owners of Safe {safe} "
                            f"(owners: {', '.join(state.owners)}): remove them or fix the Safe address")
    signers = sorted(found, key=lambda a: int(a, 16))
    return b"".join(found[a] for a in signers), signers


def read_presigned(path: str) -> tuple[SafeTx, bytes]:
    from eth_utils import to_checksum_address

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        tx = SafeTx(
            chain_id=int(data["chain_id"]), safe=to_checksum_address(data["safe"]), nonce=int(data["nonce"]),
            to=to_checksum_address(data["to"]), data=str(data["data"]), value=int(data["value"]),
            operation=int(data["operation"]), safe_tx_gas=int(data["safeTxGas"]), base_gas=int(data["baseGas"]),
            gas_price=int(data["gasPrice"]), gas_token=to_checksum_address(data["gasToken"]),
            refund_receiver=to_checksum_address(data["refundReceiver"]))
        recorded, signatures = str(data["safe_tx_hash"]).lower(), bytes.fromhex(str(data["signatures"])[2:])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModuleFailure(f"{path} is not a readable pre-signed Safe transaction ({FILE_FORMAT}): {exc}") from None
    if recorded != tx.hash_hex():
        raise ModuleFailure(f"{path}: safe_tx_hash does not match its fields (the file was edited): sign it again")
    return tx, signatures


def presigned_dict(tx: SafeTx, signers: list[str], signatures: bytes, description: str = "") -> dict:
    return {
        "format": FILE_FORMAT, "description": description, "chain_id": tx.chain_id, "safe": tx.safe,
        "nonce": tx.nonce, "to": tx.to, "value": str(tx.value), "data": tx.data, "operation": tx.operation,
        "safeTxGas": str(tx.safe_tx_gas), "baseGas": str(tx.base_gas), "gasPrice": str(tx.gas_price),
        "gasToken": tx.gas_token, "refundReceiver": tx.refund_receiver, "safe_tx_hash": tx.hash_hex(),
        "signers": signers, "signatures": "0x" + signatures.hex(),
    }


def explain(reason: str) -> str:
    code = next((c for c in SAFE_ERRORS if c in reason), None)
    return f"{reason} ({code}: {SAFE_ERRORS[code]})" if code else reason


def with_nonce(tx: SafeTx, nonce: int) -> SafeTx:
    return replace(tx, nonce=nonce)


def execution_logged(client: RpcClient, safe: str, safe_tx_hash: str, from_block: int = 0) -> bool | None:
    """Whether the Safe emitted ExecutionSuccess for this hash (txHash is in the event data in v1.3/1.4)."""
    from eth_utils import keccak

    topic = "0x" + keccak(text="ExecutionSuccess(bytes32,uint256)").hex()
    logs = client.call("eth_getLogs", {"address": safe, "topics": [topic], "fromBlock": hex(from_block),
                                       "toBlock": "latest"})
    wanted = safe_tx_hash[2:].lower()
    return any(log["data"][2:66].lower() == wanted or wanted in [t[2:].lower() for t in log["topics"][1:]]
               for log in logs)


def receipt_executed(receipt: dict, safe: str) -> bool:
    from eth_utils import keccak

    topic = "0x" + keccak(text="ExecutionSuccess(bytes32,uint256)").hex()
    return hex_int(receipt["status"]) == 1 and any(
        log["address"].lower() == safe.lower() and log["topics"] and log["topics"][0] == topic
        for log in receipt["logs"])
