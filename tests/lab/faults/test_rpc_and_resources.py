"""rpc-degraded and high-resource faults: the public RPC slows down (or reth's log disk fills up), and the
runbook's remedy, applied by hand with kubectl, brings it back under the threshold."""

from __future__ import annotations

import time

from web3 import Web3

from tests.support import LOCAL_THRESHOLDS, LabHandle

from .helpers import endpoints, eventually, kubectl, ready_pods

THRESHOLD_MS = LOCAL_THRESHOLDS["rpc_latency_ms"]  # the lab's (inventories/local), not the runbook's 500


def rpc_latency_ms(lab: LabHandle) -> float:
    """How long the public RPC takes to answer eth_blockNumber, as a user of it sees it."""
    w3 = Web3(Web3.HTTPProvider(endpoints(lab)["l2_rpc_urls"][0], request_kwargs={"timeout": 10}))
    started = time.perf_counter()
    assert w3.eth.block_number > 0
    return (time.perf_counter() - started) * 1000


def reth_cpu_millicores(lab: LabHandle) -> list[int]:
    """The CPU column of `kubectl top pods -l app.kubernetes.io/name=reth`."""
    lines = kubectl(lab, "top", "pods", "-l", "app.kubernetes.io/name=reth", "--no-headers").stdout.splitlines()
    return [int(line.split()[1].removesuffix("m")) for line in lines]


def disk_used_percent(lab: LabHandle) -> int:
    """`kubectl exec deploy/reth -- df -h`: the Use% of /var/log."""
    said = []
    for _attempt in range(3):  # under a loaded CI the exec stream has come back empty once; read again
        done = kubectl(lab, "exec", "deploy/reth", "--", "df", "-h", check=False)
        lines = [line for line in done.stdout.splitlines() if line.endswith("/var/log")]
        if lines:
            return int(lines[0].split()[4].removesuffix("%"))
        said.append(f"exit {done.returncode}: {done.stdout!r} {done.stderr!r}")
    raise AssertionError(f"`kubectl exec deploy/reth -- df -h` showed no /var/log: {said}")


# -- rpc-overload -----------------------------------------------------------------------------------------
def test_rpc_overload_public_rpc_slow_and_reth_cpu_high(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    assert rpc_latency_ms(lab) < THRESHOLD_MS
    lab.lab.break_fault("rpc-overload")
    assert rpc_latency_ms(lab) > THRESHOLD_MS
    assert reth_cpu_millicores(lab)[0] > 3000
    connections = kubectl(lab, "exec", "deploy/reth", "--", "sh", "-c", "netstat -an | grep -c ESTABLISHED").stdout
    assert int(connections) > 1000


def test_rpc_overload_heals_with_three_reth_replicas(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("rpc-overload")
    assert rpc_latency_ms(lab) > THRESHOLD_MS
    kubectl(lab, "scale", "deployment/reth", "--replicas=3")
    kubectl(lab, "rollout", "status", "deployment/reth", "--timeout=20s")
    eventually(lambda: len(ready_pods(lab, "reth")), lambda n: n == 3, "three reth replicas Ready")
    eventually(lambda: rpc_latency_ms(lab), lambda ms: ms < THRESHOLD_MS, f"public RPC under {THRESHOLD_MS} ms",
               within=5)
    assert max(reth_cpu_millicores(lab)) < 3000


# -- indexer-db-slow --------------------------------------------------------------------------------------
def test_indexer_db_slow_public_rpc_slow_while_the_indexer_runs(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("indexer-db-slow")
    assert rpc_latency_ms(lab) > THRESHOLD_MS
    assert ready_pods(lab, "subsquid", "indexer")
    assert reth_cpu_millicores(lab)[0] < 3000, "not an overload: reth itself is not busy"


def test_indexer_db_slow_heals_by_scaling_the_indexer_to_zero(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("indexer-db-slow")
    assert rpc_latency_ms(lab) > THRESHOLD_MS
    kubectl(lab, "scale", "deployment/subsquid", "-n", "indexer", "--replicas=0")
    eventually(lambda: ready_pods(lab, "subsquid", "indexer"), lambda pods: not pods, "subsquid scaled to 0")
    eventually(lambda: rpc_latency_ms(lab), lambda ms: ms < THRESHOLD_MS, f"public RPC under {THRESHOLD_MS} ms",
               within=5)


# -- disk-full --------------------------------------------------------------------------------------------
def test_disk_full_reth_log_volume_over_80_percent(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    assert disk_used_percent(lab) < 80
    lab.lab.break_fault("disk-full")
    assert disk_used_percent(lab) > 80
    assert "Low disk space" in kubectl(lab, "logs", "deploy/reth", "--tail=20").stdout


def test_disk_full_deleting_old_logs_heals(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("disk-full")
    assert disk_used_percent(lab) > 80
    kubectl(lab, "exec", "deploy/reth", "--", "sh", "-c", "find /var/log -name '*.log' -mtime +7 -delete")
    assert disk_used_percent(lab) < 80


# -- reth-memory-high / reth-memory-leak ------------------------------------------------------------------
RETH_LIMIT_MI = 8 * 1024  # reth's memory limit in the lab (8Gi)


def reth_memory_percent(lab: LabHandle) -> list[float]:
    """The MEMORY column of `kubectl top pods -l app.kubernetes.io/name=reth`, as a share of reth's limit."""
    lines = kubectl(lab, "top", "pods", "-l", "app.kubernetes.io/name=reth", "--no-headers").stdout.splitlines()
    return [100 * int(line.split()[2].removesuffix("Mi")) / RETH_LIMIT_MI for line in lines]


def test_reth_memory_high_is_over_80_percent_and_a_restart_reclaims_it(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    assert max(reth_memory_percent(lab)) < 80
    lab.lab.break_fault("reth-memory-high")
    assert max(reth_memory_percent(lab)) > 80
    kubectl(lab, "rollout", "restart", "deployment/reth")
    kubectl(lab, "rollout", "status", "deployment/reth", "--timeout=30s")
    eventually(lambda: reth_memory_percent(lab), lambda values: values and max(values) < 80,
               "reth's memory back under 80 % after the restart")


def test_reth_memory_leak_comes_back_after_a_restart(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("reth-memory-leak")
    kubectl(lab, "rollout", "restart", "deployment/reth")
    kubectl(lab, "rollout", "status", "deployment/reth", "--timeout=30s")
    values = reth_memory_percent(lab)
    assert values and min(values) > 80
