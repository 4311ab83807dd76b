# -*- coding: utf-8 -*-
"""Contract calls without a contract object: selectors, argument encoding, results and revert reasons."""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.module_utils.rpc import Call, CallError

ERROR_SELECTOR = "08c379a0"  # Error(string)
PANIC_SELECTOR = "4e487b71"  # Panic(uint256)
PANICS = {0x01: "assert failed", 0x11: "arithmetic underflow or overflow", 0x12: "division by zero",
          0x32: "array index out of bounds"}


def selector(signature: str) -> str:
    from eth_utils import keccak

    return keccak(text=signature)[:4].hex()


def encode_call(signature: str, types: list[str] | None = None, args: list | None = None) -> str:
    from eth_abi import encode

    data = selector(signature)
    if types:
        data += encode(types, args or []).hex()
    return "0x" + data


def eth_call(to: str, signature: str, types: list[str] | None = None, args: list | None = None,
             sender: str | None = None, block: str = "latest") -> Call:
    tx = {"to": to, "data": encode_call(signature, types, args)}
    if sender:
        tx["from"] = sender
    return Call("eth_call", [tx, block])


def decode(types: list[str], result: object) -> tuple:
    from eth_abi import decode as abi_decode

    if isinstance(result, CallError) or not isinstance(result, str):
        raise ValueError(f"cannot decode {result!r}")
    return abi_decode(types, bytes.fromhex(result[2:]))


def revert_reason(error: CallError) -> str:
    """The contract's revert reason (Error(string), Panic code or the node's message)."""
    data = error.revert_data()[2:]
    if data.startswith(ERROR_SELECTOR):
        from eth_abi import decode as abi_decode

        try:
            return abi_decode(["string"], bytes.fromhex(data[8:]))[0]
        except Exception:
            return error.message
    if data.startswith(PANIC_SELECTOR):
        code = int(data[8:] or "0", 16)
        return f"panic 0x{code:02x} ({PANICS.get(code, 'see Solidity panic codes')})"
    return error.message
