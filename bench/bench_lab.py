"""The lab's speed and cost: `jeju-play lab up` to healthy, its memory and CPU, and the live double's latency.

    .venv/bin/python bench/bench_lab.py [UPS] [N]

Runs `jeju-play lab up` / `lab down` UPS times (default 3) in a private project copy and times each; on the
last lab, measures RSS (supervisor + both anvils, from /proc), CPU over 10 s idle, and N (default 100) get /
list / patch calls through the kubernetes client against the running lab (simulators busy in the same loop).
Loopback only; everything it starts is stopped by `lab down`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes import client, config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support: a private lab project
from harness import Figure, save

from tests.support import lab_env, make_lab_project, run_cli

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


FIGURES: list[Figure] = []


def pids(project: Path) -> dict[str, int]:
    state = json.loads((project / ".lab" / "state.json").read_text())
    return {"supervisor": state["supervisor_pid"], **{f"anvil-{k}": v for k, v in state["anvil_pids"].items()}}


def timed(label: str, count: int, operation: Callable[[int], object]) -> None:
    samples = []
    for number in range(count):
        start = time.perf_counter()
        operation(number)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{label:<36} n={count:<4} median={statistics.median(samples):6.2f} ms  p95={p95:6.2f} ms")
    FIGURES.append(Figure("Lab: Kubernetes API double, live", label, "ms", samples))


def bench_up(env: dict[str, str], ups: int) -> None:
    ups_s, downs_s = [], []
    for number in range(ups):
        start = time.perf_counter()
        done = run_cli("lab", "up", env_extra=env)
        ups_s.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"lab up failed: {done.stderr}")
        if number < ups - 1:
            start = time.perf_counter()
            run_cli("lab", "down", env_extra=env)
            downs_s.append(time.perf_counter() - start)
    print(f"lab up to healthy (s): {', '.join(f'{s:.2f}' for s in ups_s)}  median {statistics.median(ups_s):.2f}")
    FIGURES.append(Figure("Lab: start and stop", "jeju-play lab up to healthy", "s", ups_s, target="< 10 s"))
    if downs_s:
        print(f"lab down (s): median {statistics.median(downs_s):.2f}")
        FIGURES.append(Figure("Lab: start and stop", "jeju-play lab down", "s", downs_s))


def bench_cost(project: Path) -> None:
    found = pids(project)
    before = {name: cpu_seconds(pid) for name, pid in found.items()}
    time.sleep(10)
    cpu = {name: (cpu_seconds(pid) - before[name]) / 10 * 100 for name, pid in found.items()}
    rss = {name: rss_mib(pid) for name, pid in found.items()}
    for name in found:
        print(f"{name:<12} RSS {rss[name]:7.1f} MiB   CPU {cpu[name]:5.1f} % of a core (10 s, idle lab)")
    print(f"{'total':<12} RSS {sum(rss.values()):7.1f} MiB   CPU {sum(cpu.values()):5.1f} % of a core")
    FIGURES.append(Figure("Lab: cost, idle", "RSS, supervisor and both anvils", "MiB", [sum(rss.values())],
                          target="< 1024 MiB"))
    FIGURES.append(Figure("Lab: cost, idle", "CPU over 10 s", "% of a core", [sum(cpu.values())]))


def bench_double(project: Path, count: int) -> None:
    api = config.new_client_from_config(str(project / ".lab" / "kubeconfig"))
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    timed("get deployment op-node", count, lambda n: apps.read_namespaced_deployment("op-node", "op-stack"))
    timed("list pods (label selector)", count,
          lambda n: core.list_namespaced_pod("op-stack", label_selector="app.kubernetes.io/name=op-node"))
    timed("list all pods", count, lambda n: core.list_pod_for_all_namespaces())
    timed("patch deployment (merge, no-op)", count, lambda n: apps.patch_namespaced_deployment(
        "reth", "op-stack", {"metadata": {"labels": {"bench": "1"}}}))
    kubeconfig = {"KUBECONFIG": str(project / ".lab" / "kubeconfig")}
    timed("kubectl get pods (process)", 10, lambda n: subprocess.run(
        ["kubectl", "get", "pods"], env={**os.environ, **kubeconfig}, capture_output=True, check=True))
    api.close()


def main(ups: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = make_lab_project(Path(folder) / "project")
        env = lab_env(project)
        try:
            bench_up(env, ups)
            bench_cost(project)
            bench_double(project, count)
        finally:
            run_cli("lab", "down", env_extra=env)
    save("bench_lab", FIGURES)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, int(sys.argv[2]) if len(sys.argv) > 2 else 100)
