"""What the simulators need to know about the cluster and the faults.

The integration layer owns one `Conditions` object and updates it from the Kubernetes double (pod health,
replica counts, container env vars) and from the active faults. The simulators read it on every tick, so a
change takes effect within one tick. Env var names are the real op-stack ones (see README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jeju_play.errors import LabError

# Real op-stack env var names (urfave/cli EnvVars of op-node, op-batcher, op-proposer and op-service/txmgr).
OP_NODE_L1_ETH_RPC = "OP_NODE_L1_ETH_RPC"
OP_NODE_SEQUENCER_ENABLED = "OP_NODE_SEQUENCER_ENABLED"
OP_NODE_SEQUENCER_STOPPED = "OP_NODE_SEQUENCER_STOPPED"
OP_NODE_RPC_ENABLE_ADMIN = "OP_NODE_RPC_ENABLE_ADMIN"
OP_BATCHER_L1_ETH_RPC = "OP_BATCHER_L1_ETH_RPC"
OP_BATCHER_L2_ETH_RPC = "OP_BATCHER_L2_ETH_RPC"
OP_BATCHER_ROLLUP_RPC = "OP_BATCHER_ROLLUP_RPC"
OP_BATCHER_DATA_AVAILABILITY_TYPE = "OP_BATCHER_DATA_AVAILABILITY_TYPE"
OP_BATCHER_ALTDA_ENABLED = "OP_BATCHER_ALTDA_ENABLED"
OP_BATCHER_ALTDA_DA_SERVER = "OP_BATCHER_ALTDA_DA_SERVER"
OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD = "OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD"
OP_PROPOSER_L1_ETH_RPC = "OP_PROPOSER_L1_ETH_RPC"
OP_PROPOSER_ROLLUP_RPC = "OP_PROPOSER_ROLLUP_RPC"
OP_PROPOSER_L2OO_ADDRESS = "OP_PROPOSER_L2OO_ADDRESS"
OP_PROPOSER_POLL_INTERVAL = "OP_PROPOSER_POLL_INTERVAL"

DA_TYPES = ("calldata", "blobs", "auto")
DEFAULT_FEE_LIMIT_THRESHOLD_GWEI = 100.0  # op-service/txmgr DefaultBatcherFlagValues


@dataclass
class Conditions:
    """Mutable facts the simulators obey. Defaults describe a healthy network."""

    # op-node (Deployment op-node)
    op_node_ready: bool = True
    sequencer_l1_url: str = ""
    sequencer_enabled: bool = True
    sequencer_stopped_at_start: bool = False
    admin_rpc_enabled: bool = True
    bad_block_at: int | None = None  # derivation and sequencing halt before this L2 block
    # op-batcher (Deployment op-batcher)
    batcher_running: bool = True
    batcher_l1_url: str = ""
    batcher_l2_url: str = ""
    batcher_rollup_url: str = ""
    batcher_fee_limit_gwei: float = DEFAULT_FEE_LIMIT_THRESHOLD_GWEI
    batcher_da_type: str = "calldata"
    batcher_altda_enabled: bool = False
    batcher_altda_server: str = ""
    batcher_altda_failover: bool = False  # lab switch: newer op-alt-da clients fail over on a 503
    # eigenda-proxy
    eigenda_healthy: bool = True
    # op-proposer (Deployment op-proposer)
    proposer_running: bool = True
    proposer_l1_url: str = ""
    proposer_rollup_url: str = ""
    proposer_l2oo_address: str = ""
    proposer_poll_interval_s: float = 12.0
    proposer_can_reach_op_node: bool = True  # a NetworkPolicy / DNS fault between the two pods

    def sequencer_may_run(self) -> bool:
        return self.op_node_ready and self.sequencer_enabled and bool(self.sequencer_l1_url)


def parse_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def parse_duration_s(value: str) -> float:
    """A Go duration as op-stack flags take it ("12s", "500ms", "1m", "1m30s") in seconds."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    text, total, number = value.strip(), 0.0, ""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if text.startswith("ms", index) else char
        if unit not in units or not number:
            raise LabError(f"cannot read duration {value!r}: use Go syntax such as 12s, 500ms or 1m")
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    if number:
        raise LabError(f"duration {value!r} has no unit: write {number}s")
    return total


def apply_op_node_env(conditions: Conditions, env: Mapping[str, str]) -> None:
    if OP_NODE_L1_ETH_RPC in env:
        conditions.sequencer_l1_url = env[OP_NODE_L1_ETH_RPC]
    if OP_NODE_SEQUENCER_ENABLED in env:
        conditions.sequencer_enabled = parse_bool(env[OP_NODE_SEQUENCER_ENABLED])
    if OP_NODE_SEQUENCER_STOPPED in env:
        conditions.sequencer_stopped_at_start = parse_bool(env[OP_NODE_SEQUENCER_STOPPED])
    if OP_NODE_RPC_ENABLE_ADMIN in env:
        conditions.admin_rpc_enabled = parse_bool(env[OP_NODE_RPC_ENABLE_ADMIN])


def apply_batcher_env(conditions: Conditions, env: Mapping[str, str]) -> None:
    if OP_BATCHER_L1_ETH_RPC in env:
        conditions.batcher_l1_url = env[OP_BATCHER_L1_ETH_RPC]
    if OP_BATCHER_L2_ETH_RPC in env:
        conditions.batcher_l2_url = env[OP_BATCHER_L2_ETH_RPC]
    if OP_BATCHER_ROLLUP_RPC in env:
        conditions.batcher_rollup_url = env[OP_BATCHER_ROLLUP_RPC]
    if OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD in env:
        conditions.batcher_fee_limit_gwei = float(env[OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD])
    if OP_BATCHER_DATA_AVAILABILITY_TYPE in env:
        da_type = env[OP_BATCHER_DATA_AVAILABILITY_TYPE].strip().lower()
        if da_type not in DA_TYPES:
            raise LabError(
                f"{OP_BATCHER_DATA_AVAILABILITY_TYPE}={da_type!r}: use one of {', '.join(DA_TYPES)}"
            )
        conditions.batcher_da_type = da_type
    if OP_BATCHER_ALTDA_ENABLED in env:
        conditions.batcher_altda_enabled = parse_bool(env[OP_BATCHER_ALTDA_ENABLED])
    if OP_BATCHER_ALTDA_DA_SERVER in env:
        conditions.batcher_altda_server = env[OP_BATCHER_ALTDA_DA_SERVER]


def apply_proposer_env(conditions: Conditions, env: Mapping[str, str]) -> None:
    if OP_PROPOSER_L1_ETH_RPC in env:
        conditions.proposer_l1_url = env[OP_PROPOSER_L1_ETH_RPC]
    if OP_PROPOSER_ROLLUP_RPC in env:
        conditions.proposer_rollup_url = env[OP_PROPOSER_ROLLUP_RPC]
    if OP_PROPOSER_L2OO_ADDRESS in env:
        conditions.proposer_l2oo_address = env[OP_PROPOSER_L2OO_ADDRESS]
    if OP_PROPOSER_POLL_INTERVAL in env:
        conditions.proposer_poll_interval_s = parse_duration_s(env[OP_PROPOSER_POLL_INTERVAL])
