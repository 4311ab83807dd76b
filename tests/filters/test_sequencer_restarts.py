"""jeju.ops.sequencer_restarts_cause and sequencer_restarts_recovery: restarts over a window, told apart."""

from __future__ import annotations

from typing import Any

from ansible_collections.jeju.ops.plugins.filter.sequencer_restarts import (
    sequencer_restarts_cause,
    sequencer_restarts_recovery,
)

NOW = "2026-12-01T12:00:00Z"
SETTINGS = {"history_seconds": 60}
L1_ENV = "OP_NODE_L1_ETH_RPC"
FLOWING = {"blocks_ok": True, "blocks_advanced": 4, "waited_seconds": 8.0}
STALLED = {"blocks_ok": False, "blocks_advanced": 0, "waited_seconds": 8.0}
PROBE = {"httpGet": {"path": "/healthz", "port": 9545}, "periodSeconds": 2, "timeoutSeconds": 1,
         "failureThreshold": 1}


def triage(restarts: int = 0, reason: str = "", logs: list[str] | None = None,
           events: list[dict[str, Any]] | None = None, name: str = "op-node-abc") -> dict[str, Any]:
    return {"deployment": {"container": "op-node", "env": {L1_ENV: "http://l1-primary"}, "liveness_probe": PROBE},
            "pods": [{"name": name, "ready": True, "restarts": restarts, "last_terminated_reason": reason,
                      "last_exit_code": 137 if reason == "OOMKilled" else 1}],
            "events": events or [], "logs": logs or []}


def event(reason: str, message: str, time: str = "2026-12-01T11:59:50Z") -> dict[str, str]:
    return {"time": time, "reason": reason, "object": "Pod/op-node-abc", "message": message, "type": "Warning"}


def cause(before: dict, after: dict, chain: dict | None = None, probe: dict | None = None,
          since: str = "2026-12-01T11:59:45Z") -> dict[str, Any]:
    readings = {"before": before, "after": after, "chain": chain or FLOWING, "now": NOW, "since": since,
                "probe": probe or {"l1_healthy_backups": ["http://l1-backup"]}}
    return sequencer_restarts_cause(readings, SETTINGS, L1_ENV)


def test_an_old_restart_count_is_not_a_restart_in_the_window() -> None:
    """The current count alone says nothing: 7 restarts last week, none now."""
    decided = cause(triage(7, "OOMKilled"), triage(7, "OOMKilled"))
    assert decided["cause"] == "not_restarting" and decided["healthy"] and decided["restarts"] == 0


def test_oom_restarts_while_blocks_flow_are_out_of_memory() -> None:
    decided = cause(triage(3, "OOMKilled"), triage(5, "OOMKilled"))
    assert decided["cause"] == "out_of_memory" and decided["restarts"] == 2
    assert decided["container"] == "op-node"
    assert any("2 restart(s) in the window" in line for line in decided["timeline"])


def test_restarts_with_blocks_stopped_are_a_network_down() -> None:
    assert cause(triage(3, "OOMKilled"), triage(5, "OOMKilled"), chain=STALLED)["cause"] == "not_flowing"


def test_liveness_kills_of_a_healthy_op_node_are_the_probe_and_name_its_timing() -> None:
    kills = [event("Unhealthy", 'Liveness probe failed: Get "http://10.0.0.7:9545/healthz": context deadline '
                   "exceeded (Client.Timeout exceeded while awaiting headers)"),
             event("Killing", "Container op-node failed liveness probe, will be restarted", "2026-12-01T11:59:51Z")]
    decided = cause(triage(1, "Error"), triage(3, "Error", events=kills))
    assert decided["cause"] == "liveness_probe"
    assert decided["probe"] == {"path": "/healthz", "port": 9545, "period_seconds": 2, "timeout_seconds": 1,
                                "failure_threshold": 1, "initial_delay_seconds": 0}
    assert decided["probe_text"] == "GET :9545/healthz every 2 s, timeout 1 s, failure threshold 1"
    assert decided["timeline"][0].startswith("2026-12-01T11:59:50Z Pod/op-node-abc Unhealthy")


def test_probe_events_older_than_the_history_window_are_not_counted() -> None:
    old = [event("Killing", "Container op-node failed liveness probe, will be restarted", "2026-12-01T10:00:00Z")]
    assert cause(triage(2), triage(2, events=old))["cause"] == "not_restarting"


def test_probe_kills_of_a_pod_that_is_gone_are_not_this_pods_cause() -> None:
    """A probe that killed the pod before the last rollout says nothing about the pod that runs now."""
    gone = [{**event("Killing", "Container op-node failed liveness probe, will be restarted"),
             "object": "Pod/op-node-old"}]
    lines = ['lvl=crit msg="Application failed" err="panic: runtime error: index out of range [3] with length 3"']
    assert cause(triage(0, "Error"), triage(1, "Error", logs=lines, events=gone))["cause"] == "unknown"


def test_probe_kills_before_the_window_are_history_not_the_cause() -> None:
    """The pod was killed by its probe a minute ago; now it panics: the timeline shows both, the cause is now's."""
    old = [event("Killing", "Container op-node failed liveness probe, will be restarted", "2026-12-01T11:59:30Z")]
    lines = ['lvl=crit msg="Application failed" err="panic: runtime error: index out of range [3] with length 3"']
    decided = cause(triage(2, "Error"), triage(3, "Error", logs=lines, events=old))
    assert decided["cause"] == "unknown" and "failed liveness probe" in decided["timeline"][0]


def test_l1_errors_before_the_crash_are_the_l1_flapping_and_the_backup_is_named() -> None:
    lines = ['lvl=crit msg="Failed to fetch L1 head" err="dial tcp 127.0.0.1:8545: connect: connection refused"']
    decided = cause(triage(0, "Error"), triage(2, "Error", logs=lines))
    assert decided["cause"] == "l1_flapping"
    assert (decided["l1_url_before"], decided["l1_backup"]) == ("http://l1-primary", "http://l1-backup")


def test_a_restart_with_no_known_signature_is_unknown_with_its_log_tail() -> None:
    lines = ['lvl=crit msg="Application failed" err="panic: runtime error: index out of range [3] with length 3"']
    decided = cause(triage(0, "Error"), triage(1, "Error", logs=lines))
    assert decided["cause"] == "unknown" and decided["evidence"]["log_tail"] == lines


def test_a_new_pod_that_restarted_counts_all_its_restarts() -> None:
    decided = cause(triage(0, name="op-node-old"), triage(2, "OOMKilled", name="op-node-new"))
    assert decided["restarted_pods"] == {"op-node-new": 2}


def test_recovery_needs_no_new_restart_and_blocks() -> None:
    assert sequencer_restarts_recovery({"before": triage(4), "after": triage(4), "chain": FLOWING})["ok"]
    again = sequencer_restarts_recovery({"before": triage(4), "after": triage(5), "chain": FLOWING})
    assert not again["ok"] and "op-node-abc +1" in again["failure"]
    stalled = sequencer_restarts_recovery({"before": triage(4), "after": triage(4), "chain": STALLED})
    assert not stalled["ok"] and "0 new L2 block(s)" in stalled["failure"]


def test_blocks_over_window_counts_the_heads_moved() -> None:
    from ansible_collections.jeju.ops.plugins.filter.sequencer_restarts import blocks_over_window

    moved = blocks_over_window({"start": {"number": 10}, "end": {"number": 14}}, 8)
    assert moved == {"start_number": 10, "end_number": 14, "blocks_advanced": 4, "blocks_ok": True,
                     "waited_seconds": 8.0, "error": ""}
    dead = blocks_over_window({"start": {"number": 10}, "end": {"failed": True, "msg": "connection refused"}}, 8)
    assert not dead["blocks_ok"] and dead["error"] == "connection refused"
