# -*- coding: utf-8 -*-
"""op-node RPC: sync status, sequencer control (admin_*), output roots."""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure
from ansible_collections.jeju.ops.plugins.module_utils.rpc import Call, CallError, RpcClient

METHOD_NOT_FOUND = -32601


def sync_summary(status: dict) -> dict:
    def number(name: str) -> int | None:
        ref = status.get(name) or {}
        return ref.get("number")

    summary = {f"{name}_number": number(name) for name in (
        "unsafe_l2", "safe_l2", "finalized_l2", "current_l1", "head_l1", "safe_l1", "finalized_l1")}
    unsafe = status.get("unsafe_l2") or {}
    summary.update(unsafe_head_hash=unsafe.get("hash"), sync_status=status)
    if summary["unsafe_l2_number"] is not None and summary["safe_l2_number"] is not None:
        summary["unsafe_safe_gap"] = summary["unsafe_l2_number"] - summary["safe_l2_number"]
    return summary


def _checked(client: RpcClient, call: Call, result: object) -> object:
    if isinstance(result, CallError):
        hint = " (start op-node with --rpc.enable-admin)" if (
            result.code == METHOD_NOT_FOUND and call.method.startswith("admin_")) else ""
        raise ModuleFailure(f"{call.method} on op-node {client.endpoint} failed: {result.message}{hint}")
    return result


def admin_state(client: RpcClient) -> tuple[bool, dict]:
    calls = [Call("admin_sequencerActive"), Call("optimism_syncStatus")]
    active, status = client.batch(calls)
    return bool(_checked(client, calls[0], active)), sync_summary(_checked(client, calls[1], status))


def op_node_action(client: RpcClient, action: str, check_mode: bool, block_number: int | None = None,
                   unsafe_head_hash: str | None = None) -> dict:
    if action == "sync_status":
        return dict(changed=False, **sync_summary(client.call("optimism_syncStatus")))
    if action == "sequencer_active":
        return {"changed": False, "active": bool(client.call("admin_sequencerActive"))}
    if action == "output_at_block":
        if block_number is None:
            raise ModuleFailure("output_at_block needs block_number")
        out = client.call("optimism_outputAtBlock", hex(block_number))
        return {"changed": False, "block_number": block_number, "output_root": out.get("outputRoot"),
                "state_root": out.get("stateRoot"), "withdrawal_storage_root": out.get("withdrawalStorageRoot"),
                "block_ref": out.get("blockRef"), "version": out.get("version")}
    active, summary = admin_state(client)
    if action == "stop_sequencer":
        return stop(client, active, summary, check_mode)
    return start(client, active, summary, check_mode, unsafe_head_hash)


def stop(client: RpcClient, active: bool, summary: dict, check_mode: bool) -> dict:
    head = summary["unsafe_head_hash"]
    if not active:
        return dict(summary, changed=False, active=False, msg=f"the sequencer was already stopped at {head}")
    if check_mode:
        return dict(summary, changed=True, active=True, msg=f"would stop the sequencer (unsafe head now {head})")
    call = Call("admin_stopSequencer")
    stopped_at = _checked(client, call, client.batch([call])[0])
    return dict(summary, changed=True, active=False, unsafe_head_hash=stopped_at,
                msg=f"sequencer stopped at {stopped_at}")


def start(client: RpcClient, active: bool, summary: dict, check_mode: bool, given: str | None) -> dict:
    head = given or summary["unsafe_head_hash"]
    if active:
        return dict(summary, changed=False, active=True, msg="the sequencer was already running")
    if check_mode:
        return dict(summary, changed=True, active=False, start_hash=head, msg=f"would start the sequencer at {head}")
    call = Call("admin_startSequencer", [head])
    result = client.batch([call])[0]
    if isinstance(result, CallError) and "does not match" in result.message:
        raise ModuleFailure(
            f"op-node {client.endpoint} refused to start at {head}: {result.message}. Pass the hash that "
            "stop_sequencer returned, or omit unsafe_head_hash to use the current unsafe head.", start_hash=head)
    _checked(client, call, result)
    return dict(summary, changed=True, active=True, start_hash=head, msg=f"sequencer started at {head}")
