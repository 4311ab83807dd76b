"""Run kubernetes.core's integration targets as ansible-test would, against the lab's API double.

ansible-test runs `runme.sh` of each target from inside the collection's tree (`ansible_collections/kubernetes/
core/tests/integration/targets/<target>`): that makes kubernetes.core the playbook's default collection, so the
targets' short module names (`k8s:`) get the collection's action plugins. Here the same tree is put together in
a temporary folder: the installed collection's files (symlinked) and a copy of the vendored targets, and each
target runs `ansible-playbook playbook.yaml` the way its runme.sh does, with its own HOME (~/.kube/config is the
double's: some targets move it away and back) and its own TMPDIR (kubernetes.core's discovery cache).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import ansible_collections.kubernetes.core as installed_collection

HERE = Path(__file__).resolve().parent
VENDORED = HERE / "kubernetes_core" / "targets"
VENV_BIN = Path(sys.executable).parent
_FAILED_TASK = re.compile(r"^TASK \[(?P<task>.+?)\] \*+$")


def collection_version() -> str:
    import json

    manifest = Path(installed_collection.__path__[0]) / "MANIFEST.json"
    return str(json.loads(manifest.read_text())["collection_info"]["version"])


def collection_tree(base: Path) -> Path:
    """`base/ansible_collections/kubernetes/core` with the installed collection and the vendored targets;
    returns the targets folder."""
    root = base / "ansible_collections" / "kubernetes" / "core"
    root.mkdir(parents=True)
    source = Path(installed_collection.__path__[0])
    for entry in source.iterdir():
        if entry.name not in ("tests", "__pycache__"):
            (root / entry.name).symlink_to(entry)
    targets = root / "tests" / "integration" / "targets"
    shutil.copytree(VENDORED, targets)
    return targets


@dataclass(frozen=True)
class TargetRun:
    name: str
    returncode: int
    seconds: float
    log: Path

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    def failure(self) -> str:
        """The failed task and its error (from the log), for the assertion message."""
        lines = self.log.read_text(errors="replace").splitlines()
        task = ""
        for number, line in enumerate(lines):
            found = _FAILED_TASK.match(line)
            if found:
                task = found.group("task")
            if line.startswith(("fatal:", "failed:")) and "...ignoring" not in "".join(lines[number + 1:number + 3]):
                return f"{self.name}: task [{task}] failed:\n{line[:1500]}\n(full log: {self.log})"
        tail = "\n".join(lines[-25:])
        return f"{self.name}: exit {self.returncode} after {self.seconds:.0f} s\n{tail}\n(full log: {self.log})"


def _environment(work: Path, collections: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "K8S_AUTH_")) and k not in ("KUBECONFIG", "PYTHONPATH")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(work / "home"),
        TMPDIR=str(work / "tmp"),
        ANSIBLE_ROLES_PATH="../",  # as every runme.sh sets it
        ANSIBLE_CALLBACKS_ENABLED="profile_tasks",
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-local"),
        ANSIBLE_REMOTE_TMP=str(work / "ansible-remote"),
        ANSIBLE_NOCOWS="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
    )
    return env


def run_target(name: str, targets: Path, collections: Path, kubeconfig: Path, work: Path,
               timeout: float) -> TargetRun:
    """`ansible-playbook playbook.yaml` in the target's folder, ~/.kube/config being `kubeconfig`."""
    (work / "home" / ".kube").mkdir(parents=True)
    (work / "tmp").mkdir()
    shutil.copy(kubeconfig, work / "home" / ".kube" / "config")
    inventory = work / "inventory"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    log = work / f"{name}.log"
    started = time.monotonic()
    try:
        done = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "playbook.yaml"],
                              cwd=targets / name, env=_environment(work, collections), capture_output=True,
                              text=True, timeout=timeout, check=False)
        returncode, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else str(exc.stdout or "")
        returncode, output = -1, stdout + f"\n(gave up after {timeout:.0f} s)\n"
    log.write_text(output)
    return TargetRun(name, returncode, round(time.monotonic() - started, 1), log)


def run_all(plan: dict[str, Path], targets: Path, collections: Path, work: Path, *, workers: int,
            timeout: float) -> dict[str, TargetRun]:
    """Run every target of `plan` (target -> the kubeconfig of its double), `workers` at a time, longest first."""
    order = sorted(plan, key=lambda name: -EXPECTED_SECONDS.get(name, 30))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="k8s-target") as pool:
        futures = {name: pool.submit(run_target, name, targets, collections, plan[name], work / name, timeout)
                   for name in order}
        return {name: futures[name].result() for name in sorted(plan)}


# Rough wall time of each target alone (seconds, measured on the CI machine): the longest start first.
EXPECTED_SECONDS = {
    "k8s_scale": 170, "k8s_drain": 140, "k8s_taint": 130, "k8s_gc": 130, "k8s_label_selectors": 115,
    "k8s_full": 90, "k8s_delete": 80, "k8s_template": 75, "lookup_k8s": 35, "k8s_json_patch": 33,
    "k8s_user_impersonation": 30, "k8s_generate_name": 27,
}
