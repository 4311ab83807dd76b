# -*- coding: utf-8 -*-
"""Deposits through the OptimismPortal: a TransactionDeposited log, and the L2 transaction op-node derives from it.

The L2 transaction's hash follows from the L1 log alone (the OP Stack deposit spec), which is how a deposit is
matched on L2 without scanning L2 blocks:

    sourceHash = keccak256(uint256(0) ++ keccak256(l1BlockHash ++ uint256(logIndex)))      (user deposit)
    tx hash    = keccak256(0x7e ++ rlp([sourceHash, from, to, mint, value, gas, isSystemTx=false, data]))

with `from` and `to` the event's indexed topics and opaqueData = abi.encodePacked(mint, value, gasLimit,
isCreation, data). A contract creation has no `to` (the empty string in RLP).
"""

from __future__ import annotations

# keccak256("TransactionDeposited(address,address,uint256,bytes)")
TRANSACTION_DEPOSITED = "0xb3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32"
DEPOSIT_TX_TYPE = b"\x7e"
OPAQUE_FIXED = 73  # mint (32) + value (32) + gasLimit (8) + isCreation (1)


def _keccak(data: bytes) -> bytes:
    from eth_utils import keccak

    return keccak(data)


def _hex_bytes(value: str) -> bytes:
    return bytes.fromhex(str(value)[2:] if str(value).startswith("0x") else str(value))


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def rlp_encode(item: object) -> bytes:
    """RLP of bytes, non-negative ints, bools (false is the empty string) and lists of them."""
    if isinstance(item, bool):
        item = b"\x01" if item else b""
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, (bytes, bytearray)):
        data = bytes(item)
        return data if len(data) == 1 and data[0] < 0x80 else _rlp_length(len(data), 0x80) + data
    if isinstance(item, list):
        payload = b"".join(rlp_encode(part) for part in item)
        return _rlp_length(len(payload), 0xC0) + payload
    raise ValueError(f"cannot RLP-encode {type(item).__name__}")


def source_hash(l1_block_hash: str, log_index: int) -> bytes:
    return _keccak(bytes(32) + _keccak(_hex_bytes(l1_block_hash) + log_index.to_bytes(32, "big")))


def _address(topic: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + _hex_bytes(topic)[12:].hex())


def decode_deposit(log: dict) -> dict:
    """A TransactionDeposited log as the deposit it is, with the hash of the L2 transaction op-node derives."""
    topics = list(log.get("topics") or [])
    if len(topics) != 4 or str(topics[0]).lower() != TRANSACTION_DEPOSITED:
        raise ValueError(f"log {log.get('transactionHash')}:{log.get('logIndex')} is not a TransactionDeposited event")
    raw = _hex_bytes(log.get("data") or "0x")
    length = int.from_bytes(raw[32:64], "big")
    opaque = raw[64:64 + length]
    if len(opaque) < OPAQUE_FIXED or int(str(topics[3]), 16) != 0:
        raise ValueError(f"log {log.get('transactionHash')} is not a version-0 deposit")
    creation = opaque[72] == 1
    sender, to = _hex_bytes(topics[1])[12:], b"" if creation else _hex_bytes(topics[2])[12:]
    mint, value = int.from_bytes(opaque[0:32], "big"), int.from_bytes(opaque[32:64], "big")
    gas, data = int.from_bytes(opaque[64:72], "big"), opaque[OPAQUE_FIXED:]
    log_index = int(str(log["logIndex"]), 16)
    source = source_hash(str(log["blockHash"]), log_index)
    tx = DEPOSIT_TX_TYPE + rlp_encode([source, sender, to, mint, value, gas, False, data])
    return {
        "l1_block": int(str(log["blockNumber"]), 16),
        "l1_tx_hash": log.get("transactionHash"),
        "log_index": log_index,
        "from": _address(topics[1]),
        "to": None if creation else _address(topics[2]),
        "mint_wei": str(mint),
        "value_wei": str(value),
        "gas_limit": gas,
        "source_hash": "0x" + source.hex(),
        "l2_tx_hash": "0x" + _keccak(tx).hex(),
    }
