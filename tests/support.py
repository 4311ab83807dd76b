"""Helpers for tests: the project's paths and the installed `jeju-play` script run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jeju_lab.control import Lab

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PROJECT = ROOT / "tests" / "fixtures" / "project"
JEJU_PLAY = Path(sys.executable).parent / "jeju-play"
# The lab's thresholds, as the runs read them (inventories/local).
LOCAL_THRESHOLDS: dict[str, Any] = yaml.safe_load(
    (ROOT / "inventories/local/group_vars/all/vars.yml").read_text())["jeju_thresholds"]


def run_cli(*args: str, env_extra: dict[str, str] | None = None, stdin: str | None = None,
            timeout: float = 120, keep_deleted: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `jeju-play` console script in a subprocess, as a user runs it (no terminal).

    keep_deleted: a folder that gets a copy of each folder the run deletes (ansible-runner's private data dir),
    taken just before it is deleted (tests/private_keeper.py)."""
    env = {**os.environ, **(env_extra or {})}
    command = [str(JEJU_PLAY)]
    if keep_deleted is not None:
        keep_deleted.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "tests.private_keeper", str(keep_deleted)]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                          input=stdin if stdin is not None else "", timeout=timeout, check=False)


def recorded_runs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_dir()) if folder.exists() else []


# What makes a project tree the collection jeju.ops besides its catalog and playbooks (jeju_play.paths.Project).
COLLECTION_PARTS = ("plugins", "roles", "meta", "galaxy.yml", "ansible.cfg")


def link_collection(project: Path) -> None:
    """Give a test project the checkout's roles, plugins and ansible.cfg, so that it runs as the runner runs it."""
    for name in COLLECTION_PARTS:
        if not (project / name).exists():
            (project / name).symlink_to(ROOT / name)


def commit_project(project: Path) -> str:
    """Make the project's tree reviewed content, as jeju_play.review reads it: all committed, and the commit on
    origin/main (a clone of the reviewed repository). Call it after the test's own edits; returns the commit."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(project), "-c", "user.name=jeju-play tests",
                               "-c", "user.email=tests@jeju.invalid", *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    if not (project / ".git").exists():
        git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", "reviewed")
    git("update-ref", "refs/remotes/origin/main", "HEAD")
    return git("rev-parse", "HEAD")


def make_lab_project(base: Path) -> Path:
    """A private copy of the project for a lab: its own inventories (lab.yml lands here), .lab and runs.

    Playbooks, catalog, runbook, roles and plugins are the checkout's (symlinked), so tests run the real ones.
    """
    import shutil

    base.mkdir(parents=True, exist_ok=True)
    for name in ("catalog.yml", "docs", "playbooks", "reports"):
        (base / name).symlink_to(ROOT / name)
    link_collection(base)
    shutil.copytree(ROOT / "inventories", base / "inventories", ignore=shutil.ignore_patterns("lab.yml"))
    return base


def fleet_steady(project: Path, names: list[str], limit: float = 120.0) -> None:
    """Each member of a lab project's fleet (`lab up --count N`) has batched and proposed, as the `lab` fixture
    waits for the session lab: a daily check of a Jeju that has proposed nothing yet fails by design."""
    from jeju_lab.recovery import wait_until_steady

    for name in names:
        member = Lab(project / ".lab" / "fleet" / name,
                     project / "inventories" / name / "group_vars" / "all" / "lab.yml", environment=name)
        assert wait_until_steady(member, limit, batching=True), f"{name} did not propose and batch in {limit:.0f} s"


def fleet_member_pids(project: Path, name: str) -> list[int]:
    """Every process of one fleet member: its supervisor, both anvils, Prometheus and Alertmanager."""
    state = json.loads((project / ".lab" / "fleet" / name / "state.json").read_text())
    monitoring = (state.get("monitoring") or {}).get("pids", {})
    return [state["supervisor_pid"], *state["anvil_pids"].values(), *monitoring.values()]


def lab_env(project: Path) -> dict[str, str]:
    return {"JEJU_PLAY_HOME": str(project), "JEJU_PLAY_LAB_DIR": str(project / ".lab"),
            "JEJU_PLAY_RUNS": str(project / "runs")}


def listening_addresses(pids: list[int]) -> set[str]:
    """The IPs the given processes listen on (TCP), read from /proc like `ss -ltnp` does."""
    import ipaddress

    inodes: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            raw = fields[1].split(":")[0]
            packed = bytes.fromhex(raw)
            if len(packed) == 4:
                ip = str(ipaddress.IPv4Address(packed[::-1]))
            else:
                words = [packed[i:i + 4][::-1] for i in range(0, 16, 4)]
                ip = str(ipaddress.IPv6Address(b"".join(words)))
            inodes[fields[9]] = ip
    found = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                found.add(inodes[target[8:-1]])
    return found


@dataclass
class LabHandle:
    project: Path
    lab: Lab
    env: dict[str, str]

    @property
    def state(self) -> dict:  # type: ignore[type-arg]
        return self.lab.state

    @property
    def kubeconfig(self) -> str:
        return str(self.state["kubeconfig"])


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def running_lab(base: Path) -> Iterator[LabHandle]:
    """A lab in a private project copy under `base`, with the environment pointing at it; stopped by pid."""
    project = make_lab_project(base)
    env = lab_env(project)
    with _environ(env):
        lab = Lab.default()
        lab.up()
        try:
            yield LabHandle(project, lab, env)
        finally:
            lab.down()


def run_incident(lab: LabHandle, incident: str, *args: str, inventory: str = "local",
                 timeout: float = 240) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`jeju-play INCIDENT -i INVENTORY ARGS` against the lab; returns the result and the one run it recorded."""
    runs = Path(lab.env["JEJU_PLAY_RUNS"])
    before = set(recorded_runs(runs))
    done = run_cli(incident, "-i", inventory, *args, env_extra=lab.env, timeout=timeout)
    after = [r for r in recorded_runs(runs) if r not in before]
    assert len(after) == 1, done.stdout + done.stderr
    return done, after[0]


def artifact(record: Path, name: str) -> str:
    """A file the playbook wrote into the run record's artifacts/."""
    return (record / "artifacts" / name).read_text(encoding="utf-8")


def classification(record: Path) -> str:
    """The cause the Decide phase chose (first line of artifacts/classification)."""
    return artifact(record, "classification").splitlines()[0]


def process_tree(pid: int) -> list[int]:
    """pid and every process below it now (from /proc): ansible-playbook runs in a session of its own, so a
    process group does not hold a whole run."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def kill_machine(pid: int) -> None:
    """SIGKILL a run and everything it started, all at once, as a lost machine stops."""
    import signal

    for member in process_tree(pid):
        with suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def wait_until(predicate: Any, what: str, limit: float = 40.0, every: float = 0.5) -> None:
    """Wait on a condition of the lab (never a fixed sleep); fail naming what never happened."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"the lab never reached: {what}")
        time.sleep(every)


@dataclass
class Kube:
    """The kubernetes client's APIs on the lab's cluster, as a user's scripts would use them."""

    apps: Any
    core: Any
    networking: Any
    custom: Any
    coordination: Any


def kubectl(lab: LabHandle, *args: str) -> str:
    """kubectl against the lab's op-stack namespace, as an engineer types it; its stdout (fails on an error)."""
    from jeju_lab.topology import KUBE_CONTEXT, OP_STACK

    return subprocess.run(["kubectl", "--kubeconfig", lab.kubeconfig, "--context", KUBE_CONTEXT, "-n", OP_STACK,
                           *args], capture_output=True, text=True, check=True, timeout=30).stdout


def log_volume_percent(lab: LabHandle) -> int:
    """How full reth's log volume is (`kubectl exec deploy/reth -- df -h`, the /var/log line)."""
    line = next(line for line in kubectl(lab, "exec", "deploy/reth", "--", "df", "-h").splitlines()
                if line.endswith("/var/log"))
    return int(line.split()[4].removesuffix("%"))


def kube(lab: LabHandle) -> Kube:
    from kubernetes import client, config

    from jeju_lab.topology import KUBE_CONTEXT

    api = config.new_client_from_config(config_file=lab.kubeconfig, context=KUBE_CONTEXT)
    return Kube(client.AppsV1Api(api), client.CoreV1Api(api), client.NetworkingV1Api(api),
                client.CustomObjectsApi(api), client.CoordinationV1Api(api))


def l2_head(lab: LabHandle) -> tuple[int, int]:
    """The L2 chain's head: (number, timestamp), read from the L2 anvil itself."""
    from jeju_lab.anvil import rpc_call

    block = rpc_call(lab.state["endpoints"]["l2_anvil"], "eth_getBlockByNumber", ["latest", False])
    return int(block["number"], 16), int(block["timestamp"], 16)


def blocks_flow(lab: LabHandle, count: int = 2, within: float = 15.0) -> bool:
    """Whether `count` new L2 blocks appear within `within` seconds."""
    start = l2_head(lab)[0]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if l2_head(lab)[0] >= start + count:
            return True
        time.sleep(0.5)
    return False


def on_primary_l1(lab: LabHandle) -> None:
    """op-node on the primary L1 RPC, as the lab started it, for a test that breaks that endpoint: an earlier test
    on the session lab (a drill of l1-rpc-down, whose remedy is the backup) may have left it on the backup, where
    a fault of the primary changes nothing."""
    from jeju_lab.topology import OP_STACK

    primary, env_name = lab.state["endpoints"]["l1_rpc_urls"][0], "OP_NODE_L1_ETH_RPC"
    apps = kube(lab).apps
    [container] = apps.read_namespaced_deployment("op-node", OP_STACK).spec.template.spec.containers
    if {e.name: e.value for e in container.env or []}.get(env_name) == primary:
        return
    apps.patch_namespaced_deployment("op-node", OP_STACK, {"spec": {"template": {"spec": {"containers": [
        {"name": container.name, "env": [{"name": env_name, "value": primary}]}]}}}})
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=60s")
    wait_until(lambda: blocks_flow(lab, 1), "blocks flowing with op-node on the primary L1", limit=60)


def comms_captured(lab: LabHandle) -> list[dict[str, Any]]:
    """Every request the lab's comms double (Slack, Discord, PagerDuty, Statuspage) received, in order."""
    import requests
    import yaml

    base = yaml.safe_load((lab.project / "inventories/local/group_vars/all/lab.yml").read_text())[
        "jeju_comms_capture_url"]
    answer = requests.get(f"{base}/_captured", timeout=5)
    answer.raise_for_status()
    return list(answer.json())


@dataclass
class ServeHandle:
    """A `jeju-play serve` process the test started (stopped by pid), and a real HTTP client for it."""

    process: subprocess.Popen[str]
    url: str
    state: Path
    log: Path

    def request(self, method: str, path: str, body: bytes | dict[str, Any] | None = None,
                token: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        import json
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if isinstance(body, dict) else body
        sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def served_runs(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/runs")[1]["runs"])

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""


@contextmanager
def running_serve(*environments: str, state: Path, extra_args: tuple[str, ...] = (),
                  listen: str | None = "free") -> Iterator[ServeHandle]:
    """`jeju-play serve -i ENV ...` on a free loopback port (listen="free"), on HOST:PORT, or with no --listen at
    the environments' jeju_serve_listen (None); up once /healthz answers; stopped by pid at the end, with the runs
    it started (each in its own session)."""
    import json
    import signal

    from jeju_lab.anvil import free_port

    if listen == "free":
        listen = f"127.0.0.1:{free_port()}"
    address = listen or str(_listen_of(environments[0]))
    state.mkdir(parents=True, exist_ok=True)
    log = state.parent / f"{state.name}-serve.log"
    args = [str(JEJU_PLAY), "serve", *(a for env in environments for a in ("-i", env)),
            *(("--listen", listen) if listen else ()), *extra_args]
    with open(log, "a", encoding="utf-8") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "JEJU_PLAY_SERVE_STATE": str(state)})
    handle = ServeHandle(process, f"http://{address}", state, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if handle.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not come up: {handle.output()}")
            time.sleep(0.1)
        yield handle
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        state_file = state / "state.json"
        runs = json.loads(state_file.read_text())["runs"] if state_file.exists() else []
        for run in runs:
            if run.get("pid") and run.get("ended") is None:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(run["pid"], signal.SIGTERM)


def _listen_of(environment: str) -> str:
    from jeju_play.paths import project_root
    from jeju_play.serve import listen_of

    return listen_of(project_root(), [environment])


# -- secrets: every vault_* value of the lab's inventory, looked for wherever a run may have written -----------------
def lab_secrets(lab: LabHandle) -> dict[str, str]:
    """The lab's secrets, each under a label that does not show it ("vault_funding_key", "vault_slack_webhooks.
    incidents"): keys without their 0x (a record may drop it), a webhook URL by its secret path too."""
    from urllib.parse import urlsplit

    found: dict[str, str] = {}

    def add(label: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                add(f"{label}.{key}", item)
        elif isinstance(value, list):
            for number, item in enumerate(value):
                add(f"{label}[{number}]", item)
        elif value is not None and len(str(value)) >= 8:
            text = str(value)
            found[label] = text.removeprefix("0x")
            if "://" in text and len(urlsplit(text).path) >= 16:
                found[f"{label} (its path)"] = urlsplit(text).path
    inventory = yaml.safe_load(lab.lab.inventory_file.read_text())
    for key, value in inventory.items():
        if key.startswith("vault_"):
            add(key, value)
    return found


# Where the secrets are meant to be: the lab's inventory, Alertmanager's credentials file (.lab/monitoring) and the
# anvils' own logs, whose start banner lists the keys of anvil's public test mnemonic (the lab's funding wallet and
# Safe owners are among them; a real chain has no such file).
SECRET_STORES = ("lab.yml", "serve-token", "anvil-l1.log", "anvil-l2.log")


def secrets_in(secrets: dict[str, str], *, texts: dict[str, str] | None = None,
               folders: tuple[Path, ...] = ()) -> list[str]:
    """Each place a secret was found, as "LABEL in WHERE" (never the secret): the texts (a label to the text, such
    as the captured terminal output) and every file under the folders but the secrets' own stores."""
    places = dict(texts or {})
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and not path.is_symlink() and path.name not in SECRET_STORES:
                places[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return [f"{label} in {where}" for where, text in places.items() for label, secret in secrets.items()
            if secret.lower() in text.lower()]
