"""The rollup's shape (config, timing) and the op-node's view of it: L1 refs, L2 origins, landed batches."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from jeju_lab.sim.rpc import hex_int

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_HASH = "0x" + "00" * 32


@dataclass(frozen=True)
class RollupConfig:
    """What op-node's optimism_rollupConfig advertises, plus the batcher it accepts batches from."""

    l1_chain_id: int
    l2_chain_id: int
    batch_inbox_address: str
    batcher_address: str
    block_time: int = 1
    seq_window_size: int = 3600
    max_sequencer_drift: int = 600
    channel_timeout: int = 300
    deposit_contract_address: str = ZERO_ADDRESS
    l1_system_config_address: str = ZERO_ADDRESS


@dataclass(frozen=True)
class Timing:
    """How fast the simulators move. The lab uses real seconds; tests shrink them."""

    l2_block_interval_s: float = 1.0
    derivation_interval_s: float = 1.0
    batch_interval_s: float = 6.0
    l1_safe_depth: int = 2  # head_l1 - safe_l1, in L1 blocks
    l1_finality_depth: int = 4  # head_l1 - finalized_l1: batches this deep make their L2 blocks finalized
    max_l1_blocks_per_scan: int = 64
    receipt_timeout_s: float = 20.0


@dataclass(frozen=True)
class BlockRef:
    hash: str
    number: int
    parent_hash: str
    timestamp: int

    @classmethod
    def from_block(cls, block: dict[str, Any]) -> BlockRef:
        return cls(block["hash"], hex_int(block["number"]), block["parentHash"], hex_int(block["timestamp"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "number": self.number,
            "parentHash": self.parent_hash,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True)
class Origin:
    l1: BlockRef
    sequence_number: int


@dataclass(frozen=True)
class LandedBatch:
    last_l2: int
    l1_number: int
    l1_hash: str
    tx_hash: str


@dataclass
class RollupState:
    """op-node's memory: refreshed by the derivation task, extended by the sequencer."""

    genesis_l1: BlockRef | None = None
    head_l1: BlockRef | None = None
    safe_l1: BlockRef | None = None
    finalized_l1: BlockRef | None = None
    current_l1: BlockRef | None = None  # the last L1 block derivation has read
    batches: list[LandedBatch] = field(default_factory=list)
    origins: dict[int, Origin] = field(default_factory=dict)
    derivation_errors: int = 0  # op_node_default_derivation_errors_total
    last_derivation_error_unix: float = 0.0

    def record_derivation_error(self) -> None:
        self.derivation_errors += 1
        self.last_derivation_error_unix = time.time()

    def record_origin(self, l2_number: int, l1: BlockRef) -> Origin:
        previous = self.origins.get(l2_number - 1)
        sequence = previous.sequence_number + 1 if previous and previous.l1.hash == l1.hash else 0
        origin = Origin(l1, sequence)
        self.origins[l2_number] = origin
        return origin

    def origin_of(self, l2_number: int) -> Origin | None:
        origin = self.origins.get(l2_number)
        if origin is None and self.genesis_l1 is not None:
            return Origin(self.genesis_l1, 0)  # blocks sealed before this op-node started
        return origin

    def safe_l2_number(self, cap: int) -> int:
        return min(cap, max((batch.last_l2 for batch in self.batches), default=0))

    def finalized_l2_number(self, cap: int) -> int:
        if self.finalized_l1 is None:
            return 0
        limit = self.finalized_l1.number
        return min(cap, max((b.last_l2 for b in self.batches if b.l1_number <= limit), default=0))


def l2_ref_json(block: dict[str, Any], origin: Origin | None) -> dict[str, Any]:
    ref = BlockRef.from_block(block).to_json()
    l1 = origin.l1 if origin else None
    ref["l1origin"] = {"hash": l1.hash if l1 else ZERO_HASH, "number": l1.number if l1 else 0}
    ref["sequenceNumber"] = origin.sequence_number if origin else 0
    return ref


def rollup_config_json(
    config: RollupConfig, genesis_l1: BlockRef | None, genesis_l2: dict[str, Any]
) -> dict[str, Any]:
    """A believable subset of op-node's rollup.Config JSON."""
    l1 = genesis_l1.to_json() if genesis_l1 else {"hash": ZERO_HASH, "number": 0}
    return {
        "genesis": {
            "l1": {"hash": l1["hash"], "number": l1["number"]},
            "l2": {"hash": genesis_l2["hash"], "number": hex_int(genesis_l2["number"])},
            "l2_time": hex_int(genesis_l2["timestamp"]),
            "system_config": {
                "batcherAddr": config.batcher_address,
                "overhead": ZERO_HASH,
                "scalar": ZERO_HASH,
                "gasLimit": 30_000_000,
            },
        },
        "block_time": config.block_time,
        "max_sequencer_drift": config.max_sequencer_drift,
        "seq_window_size": config.seq_window_size,
        "channel_timeout": config.channel_timeout,
        "l1_chain_id": config.l1_chain_id,
        "l2_chain_id": config.l2_chain_id,
        "batch_inbox_address": config.batch_inbox_address,
        "deposit_contract_address": config.deposit_contract_address,
        "l1_system_config_address": config.l1_system_config_address,
    }
