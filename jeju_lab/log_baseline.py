"""The lab's normal log noise, so that a component's "baseline" of warnings and errors means something.

A real op-stack logs a trickle of warnings and errors while it is healthy (peers that do not answer, a slow
confirmation, a gossip publish with nobody listening). Each tick the lab writes these lines at the steady rates
of BASELINE into the components' pods, in the simulators' logfmt. inventories/local's jeju_elevated_errors
baseline is these rates. Under the fault `errors-elevated` the op-node pods that ran when it began write their
errors at ELEVATED_FACTOR times the rate; a new pod (a restart) is back at the baseline.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jeju_lab.faults_state import uid_of
from jeju_lab.sim.logfmt import format_line
from jeju_lab.topology import OP_STACK

if TYPE_CHECKING:
    from jeju_lab.world import LabWorld

ELEVATED_FACTOR = 10
ELEVATED_COMPONENT = "op-node"
MAX_CATCH_UP_SECONDS = 5.0  # a late tick writes at most this much owed noise at once
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
Fields = Callable[[int], dict[str, object]]


def _hex(seed: str, count: int, chars: int) -> str:
    return hashlib.sha256(f"{seed}:{count}".encode()).hexdigest()[:chars]


def _peer_id(count: int) -> str:
    digest = hashlib.sha256(f"peer:{count % 23}".encode()).digest() * 2
    return "16Uiu2HAm" + "".join(BASE58[b % 58] for b in digest[:44])


def _dial(count: int) -> dict[str, object]:
    return {"peer": _peer_id(count), "addr": f"/ip4/10.0.{count % 7}.{11 + count % 200}/tcp/9222",
            "err": "failed to dial: context deadline exceeded"}


def _gossip(count: int) -> dict[str, object]:
    return {"id": f"0x{_hex('block', count, 64)}:{1000 + count}",
            "err": "failed to publish: no peers subscribed to topic /optimism/420690/2/blocks"}


def _slow_confirmation(count: int) -> dict[str, object]:
    return {"tx": f"0x{_hex('batch', count, 64)}", "waited": f"{8 + count % 5}s"}


def _not_finalized(count: int) -> dict[str, object]:
    return {"l2_block": 1000 + 10 * count, "finalized": 990 + 10 * count}


def _session(count: int) -> dict[str, object]:
    return {"peer_id": f"0x{_hex('reth-peer', count % 31, 128)}", "reason": "TooManyPeers"}


@dataclass(frozen=True)
class Noise:
    component: str
    level: str  # logfmt's level: warn, or eror (geth's spelling)
    msg: str
    per_minute: float
    fields: Fields


# inventories/local/group_vars/all/errors.yml holds these rates as jeju_elevated_errors.baseline_per_minute.
BASELINE: tuple[Noise, ...] = (
    Noise("op-node", "warn", "Failed to dial peer", 10.0, _dial),
    Noise("op-node", "eror", "Failed to publish unsafe payload to gossip", 4.0, _gossip),
    Noise("op-batcher", "warn", "Transaction confirmation is slow, still waiting", 3.0, _slow_confirmation),
    Noise("op-proposer", "warn", "Output not finalized yet, waiting", 2.0, _not_finalized),
    Noise("reth", "warn", "Session disconnected", 6.0, _session),
)


def per_minute(component: str, level: str) -> float:
    """The lab's baseline of `level` ('errors' or 'warnings') lines per minute for a component."""
    wanted = "eror" if level == "errors" else "warn"
    return sum(n.per_minute for n in BASELINE if n.component == component and n.level == wanted)


class LogBaseline:
    """Writes BASELINE's lines at their rates, tick after tick (the rates hold whatever the tick's length)."""

    def __init__(self) -> None:
        self.owed: dict[tuple[str, str], float] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self.last: float | None = None

    def emit(self, world: LabWorld, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        elapsed = 0.0 if self.last is None else min(max(now - self.last, 0.0), MAX_CATCH_UP_SECONDS)
        self.last = now
        storm = [p["metadata"]["name"] for p in world.pods(ELEVATED_COMPONENT)
                 if uid_of(p) in world.faults.error_storm_pods and p.get("status", {}).get("phase") == "Running"]
        for noise in BASELINE:
            for line in self._due(noise, "baseline", noise.per_minute * elapsed / 60.0):
                world.route_log(noise.component, line)
            if storm and noise.component == ELEVATED_COMPONENT and noise.level == "eror":
                extra = noise.per_minute * (ELEVATED_FACTOR - 1) * elapsed / 60.0
                for line in self._due(noise, "storm", extra):
                    for pod in storm:
                        world.cluster.append_log(OP_STACK, pod, line)

    def _due(self, noise: Noise, stream: str, lines: float) -> list[str]:
        """The lines of `noise` owed after `lines` more (a fraction carries over to the next tick)."""
        key = (noise.component + ":" + noise.msg, stream)
        owed = self.owed.get(key, 0.0) + lines
        due = int(owed)
        self.owed[key] = owed - due
        made = []
        for _ in range(due):
            count = self.counts.get(key, 0)
            self.counts[key] = count + 1
            made.append(format_line(noise.level, noise.msg, noise.fields(count)))
        return made
