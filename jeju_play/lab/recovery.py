"""What "the lab really recovered" means for each incident, observed from outside (chain and cluster).

Drills use these checks after the playbook ran; they read the lab the way a user would, never the run's words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jeju_play.lab.anvil import rpc_call
from jeju_play.lab.control import Lab

PAUSED_SELECTOR = "0x5c975abb"  # paused()
WATCH_SECONDS = 4.0


@dataclass
class Verdict:
    recovered: bool
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _head(url: str) -> int:
    return int(str(rpc_call(url, "eth_blockNumber")), 16)


def blocks_flowing(lab: Lab) -> Verdict:
    state = lab.state
    l2 = state["endpoints"]["l2_anvil"]
    before = _head(l2)
    time.sleep(WATCH_SECONDS)
    after = _head(l2)
    op_node = lab.status()["components"]["op-node"]
    verdict = Verdict(True, {"l2_head_before": before, "l2_head_after": after, "op_node": op_node})
    if after <= before:
        verdict.problems.append(f"no new L2 block in {WATCH_SECONDS:.0f} s (head {after})")
    if not op_node["healthy"]:
        verdict.problems.append("op-node has no Ready pod")
    verdict.recovered = not verdict.problems
    return verdict


def network_paused_and_stopped(lab: Lab) -> Verdict:
    state = lab.state
    l1 = state["endpoints"]["l1_anvil"]
    portal = state["deployment"]["optimism_portal"]
    paused = int(str(rpc_call(l1, "eth_call", [{"to": portal, "data": PAUSED_SELECTOR}, "latest"])), 16) == 1
    drained_before = lab.status()["faults"]["drained_wei"]
    time.sleep(WATCH_SECONDS)
    status = lab.status()
    stopped = {app: status["components"][app]["replicas"] for app in ("op-node", "op-batcher", "op-proposer")}
    verdict = Verdict(True, {"portal_paused": paused, "replicas": stopped,
                             "drained_wei": status["faults"]["drained_wei"]})
    if not paused:
        verdict.problems.append("the OptimismPortal is not paused")
    for app, replicas in stopped.items():
        if replicas != 0:
            verdict.problems.append(f"{app} still has {replicas} replicas")
    if status["faults"]["drained_wei"] != drained_before:
        verdict.problems.append("the attacker is still draining the portal")
    verdict.recovered = not verdict.problems
    return verdict


CHECKS: dict[str, Callable[[Lab], Verdict]] = {
    "network-down": blocks_flowing,
    "sequencer-restarts": blocks_flowing,
    "data-corruption": blocks_flowing,
    "security-breach": network_paused_and_stopped,
}
