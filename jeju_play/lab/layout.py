"""The lab's files: `.lab/state.json` (pids, endpoints, control URL) and the generated inventory lab.yml."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from jeju_play.lab.chains import accounts

if TYPE_CHECKING:
    from jeju_play.lab.world import LabWorld


class LabState:
    def __init__(self, lab: Path):
        self.path = lab / "state.json"

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
        os.replace(tmp, self.path)

    def mark_stopped(self) -> None:
        data = self.read()
        if data:
            data["status"] = "stopped"
            self.write(data)


def endpoints_of(world: LabWorld, kube_url: str, l1_url: str, l2_url: str) -> dict[str, Any]:
    return {
        "l1_rpc_urls": [world.l1_primary.url, world.l1_backup.url],
        "l2_rpc_urls": [world.reth.url],
        "op_node_rpc_url": world.stack.op_node.url,
        "eigenda_proxy_url": world.stack.eigenda.url,
        "kube_api": kube_url,
        "l1_anvil": l1_url,
        "l2_anvil": l2_url,
    }


def write_inventory(path: Path, world: LabWorld, endpoints: dict[str, Any], kubeconfig: Path,
                    presigned_dir: Path) -> None:
    d = world.deployment
    variables: dict[str, Any] = {
        "jeju_l1_rpc_urls": endpoints["l1_rpc_urls"],
        "jeju_l2_rpc_urls": endpoints["l2_rpc_urls"],
        "jeju_op_node_rpc_url": endpoints["op_node_rpc_url"],
        "jeju_eigenda_proxy_url": endpoints["eigenda_proxy_url"],
        "jeju_kubeconfig": str(kubeconfig),
        "jeju_addresses": {
            "batcher": d.batcher, "proposer": d.proposer, "batch_inbox": d.batch_inbox,
            "l2_output_oracle": d.l2_output_oracle, "superchain_config": d.superchain_config,
            "optimism_portal": d.optimism_portal, "guardian_safe": d.guardian_safe,
            "funding_wallet": accounts.FUNDING_WALLET.address, "challenger": d.challenger,
        },
        "jeju_presigned_dir": str(presigned_dir),
        "jeju_lab_dir": str(presigned_dir.parent),
        # Test-only keys from anvil's public mnemonic. The on-call holds one guardian owner key; the other
        # owners' signatures come from the pre-signed pause file.
        "vault_funding_key": accounts.FUNDING_WALLET.private_key(),
        "vault_guardian_owner_keys": [accounts.GUARDIAN_OWNERS[0].private_key()],
    }
    header = (f"---\n# Written by `jeju-play lab up` at {datetime.now(UTC).isoformat(timespec='seconds')}; "
              "removed by `jeju-play lab down`.\n# The keys are anvil's public test keys: lab funds only.\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(variables, sort_keys=False))
