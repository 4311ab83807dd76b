"""Output roots exactly as op-node computes them (OutputV0):
keccak256(version(bytes32 0) ++ stateRoot ++ withdrawalStorageRoot ++ blockHash)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.crypto import keccak

from jeju_lab.sim.rpc import JsonRpcClient, hex_int

MESSAGE_PASSER = "0x4200000000000000000000000000000000000016"  # L2ToL1MessagePasser predeploy
OUTPUT_VERSION_V0 = bytes(32)


def to_bytes32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)} in {value}")
    return raw


def output_root(state_root: bytes, withdrawal_storage_root: bytes, block_hash: bytes) -> bytes:
    return keccak(OUTPUT_VERSION_V0 + state_root + withdrawal_storage_root + block_hash)


@dataclass(frozen=True)
class L2Output:
    number: int
    block: dict[str, object]  # the L2 block header as eth_getBlockByNumber returns it
    state_root: str
    withdrawal_storage_root: str
    output_root: str


async def fetch_output(l2: JsonRpcClient, number: int) -> L2Output | None:
    """The output at an L2 block, read from the L2 execution client (None when the block does not exist)."""
    block_tag = hex(number)
    block = await l2.call("eth_getBlockByNumber", block_tag, False)
    if block is None or hex_int(block["number"]) != number:
        return None
    proof = await l2.call("eth_getProof", MESSAGE_PASSER, [], block["hash"])
    state_root, storage_root, block_hash = block["stateRoot"], proof["storageHash"], block["hash"]
    root = output_root(to_bytes32(state_root), to_bytes32(storage_root), to_bytes32(block_hash))
    return L2Output(number, block, state_root, storage_root, "0x" + root.hex())
