"""The lab's files: `.lab/state.json` (pids, endpoints, control URL) and the generated inventory lab.yml."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import L1_CHAIN_ID, L2_CHAIN_ID
from jeju_lab.topology import DEPLOYMENTS, INDEXER, KUBE_CONTEXT, OP_STACK

if TYPE_CHECKING:
    from jeju_lab.monitoring import LabMonitoring
    from jeju_lab.sim.comms_double import CommsDouble
    from jeju_lab.world import LabWorld


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


def endpoints_of(world: LabWorld, kube_url: str, l1_url: str, l2_url: str,
                 comms_url: str | None = None) -> dict[str, Any]:
    endpoints = {
        "l1_rpc_urls": [world.l1_primary.url, world.l1_backup.url],
        "l2_rpc_urls": [world.reth.url],
        "op_node_rpc_url": world.stack.op_node.url,
        "eigenda_proxy_url": world.stack.eigenda.url,
        "kube_api": kube_url,
        "l1_anvil": l1_url,
        "l2_anvil": l2_url,
    }
    if comms_url is not None:
        endpoints["comms_double"] = comms_url
    return endpoints


def write_inventory(path: Path, world: LabWorld, endpoints: dict[str, Any], kubeconfig: Path,
                    presigned_dir: Path, monitoring: LabMonitoring | None = None,
                    comms: CommsDouble | None = None) -> None:
    d = world.deployment
    variables: dict[str, Any] = {
        # What the lab owns: its chains, its cluster's names and its state folder.
        "jeju_l1_chain_id": L1_CHAIN_ID,
        "jeju_l2_chain_id": L2_CHAIN_ID,
        "jeju_kube_context": KUBE_CONTEXT,
        "jeju_kube_cluster_uid": world.cluster_uid(),
        "jeju_namespace": OP_STACK,
        "jeju_indexer_namespace": INDEXER,
        "jeju_deployments": dict(DEPLOYMENTS),
        "jeju_state_dir": str(presigned_dir.parent),
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
        # Test-only keys from anvil's public mnemonic. The on-call holds one guardian owner key; the other
        # owners' signatures come from the pre-signed pause file.
        "vault_funding_key": accounts.FUNDING_WALLET.private_key(),
        "vault_guardian_owner_keys": [accounts.GUARDIAN_OWNERS[0].private_key()],
    }
    if monitoring is not None and monitoring.servers:
        # The bearer token the lab's Alertmanager sends to `jeju-play serve` (its URLs are in .lab/state.json).
        variables["vault_serve_webhook_token"] = monitoring.token_file.read_text().strip()
        variables["jeju_serve_listen"] = monitoring.serve_listen  # where the lab's Alertmanager sends them
        # The approval endpoint's token (chat buttons; `jeju-play approve` needs none): new at each lab up.
        variables["vault_serve_approval_token"] = secrets.token_urlsafe(24)
    if comms is not None:
        # The notification modules' endpoints and credentials: the comms double's, fake (jeju_comms_capture_url
        # is lab only: tests read what was sent from its /_captured).
        variables.update(comms.inventory())
    header = (f"---\n# Written by `jeju-play lab up` at {datetime.now(UTC).isoformat(timespec='seconds')}; "
              "removed by `jeju-play lab down`.\n# The keys are anvil's public test keys: lab funds only; the "
              "webhooks, routing keys\n# and API key are the comms double's fake ones.\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(variables, sort_keys=False))
