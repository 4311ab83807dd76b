"""`jeju-play lab ...` from the user's side: start, inspect, break, heal and stop the lab.

Only the standard library here: `jeju-play lab status` must stay quick. The supervisor does the work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jeju_lab.anvil import pid_alive, stop_pid
from jeju_lab.layout import LabState
from jeju_play.errors import BadInput, LabError
from jeju_play.paths import lab_dir, project_root

UP_TIMEOUT_SECONDS = 45.0


@dataclass
class Lab:
    dir: Path
    inventory_file: Path
    environment: str = "local"  # the inventory the lab writes lab.yml into (local-K in a fleet: jeju_lab.fleet)

    @classmethod
    def default(cls) -> Lab:
        root = project_root()
        return cls(lab_dir(), root / "inventories" / "local" / "group_vars" / "all" / "lab.yml")

    @property
    def state(self) -> dict[str, Any]:
        return LabState(self.dir).read()

    def running(self) -> bool:
        state = self.state
        pid = state.get("supervisor_pid")
        return state.get("status") in ("starting", "healthy") and isinstance(pid, int) and pid_alive(pid)

    def up(self) -> tuple[dict[str, Any], bool]:
        """Start the lab unless it runs; returns (state, started). Restarts a lab with a dead component."""
        if self.running():
            status = self.status()
            if all(c.get("healthy", False) for n, c in status["components"].items() if n.startswith("anvil")):
                return self.state, False
            self.down()
        self._clean_leftovers()
        self.dir.mkdir(parents=True, exist_ok=True)
        # New chains: transfers recorded against the previous lab's chains would block this lab's intents.
        (self.dir / "funding-ledger.jsonl").unlink(missing_ok=True)
        log = (self.dir / "supervisor.log").open("ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "jeju_lab.supervisor", "--dir", str(self.dir),
                 "--inventory-file", str(self.inventory_file), "--environment", self.environment],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                cwd=str(project_root()),
            )
        finally:
            log.close()
        deadline = time.monotonic() + UP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            state = self.state
            if state.get("supervisor_pid") == process.pid and state.get("status") == "healthy":
                return state, True
            if process.poll() is not None or state.get("status") == "failed":
                raise LabError(f"The lab failed to start: {state.get('error', 'see below')}.\n{self.log_tail()}")
            time.sleep(0.1)
        self.down()
        raise LabError(f"The lab was not healthy within {UP_TIMEOUT_SECONDS:.0f} s.\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        path = self.dir / "supervisor.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _clean_leftovers(self) -> None:
        """A supervisor that died leaves anvils (and Prometheus, Alertmanager) behind: stop them by their pids."""
        state = self.state
        for pid in [*state.get("anvil_pids", {}).values(), *_monitoring_pids(state), state.get("supervisor_pid")]:
            if isinstance(pid, int) and pid_alive(pid):
                stop_pid(pid)
        if self.inventory_file.exists():
            self.inventory_file.unlink()

    def down(self) -> list[int]:
        """Stop exactly what the lab started; returns the pids that were stopped."""
        state = self.state
        if not state:
            return []
        stopped = []
        supervisor = state.get("supervisor_pid")
        if isinstance(supervisor, int) and pid_alive(supervisor):
            try:
                self.call("POST", "/shutdown", timeout=2.0)
                deadline = time.monotonic() + 10
                while pid_alive(supervisor) and time.monotonic() < deadline:
                    time.sleep(0.05)
            except LabError:
                pass
            stop_pid(supervisor)
            stopped.append(supervisor)
        for pid in [*state.get("anvil_pids", {}).values(), *_monitoring_pids(state)]:
            if isinstance(pid, int) and pid_alive(pid):
                stop_pid(pid)
                stopped.append(pid)
        if self.inventory_file.exists():
            self.inventory_file.unlink()
        LabState(self.dir).mark_stopped()
        return stopped

    def call(self, method: str, path: str, timeout: float = 30.0, body: Any = None) -> Any:
        url = self.state.get("control_url")
        if not url or not self.running():
            raise LabError("The lab is not running: start it with `jeju-play lab up`.")
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(url + path, method=method, data=data,  # noqa: S310 (loopback)
                                         headers={"Content-Type": "application/json"} if body is not None else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
            if body.get("exit_code") == 2:
                raise BadInput(body.get("error", str(exc))) from exc
            raise LabError(body.get("error", str(exc))) from exc
        except OSError as exc:
            raise LabError(f"The lab's control API at {url} did not answer ({exc}); "
                           "`jeju-play lab down` then `jeju-play lab up` restarts it.") from exc

    def status(self) -> dict[str, Any]:
        state = self.state
        if not self.running():
            return {"running": False, "status": state.get("status", "never started"), "components": {}}
        data = self.call("GET", "/status", timeout=5.0)
        data.setdefault("components", {}).update(monitoring_status(state.get("monitoring", {})))
        return {"running": True, "status": state.get("status"), "endpoints": state.get("endpoints", {}),
                **data}

    def requests(self) -> dict[str, Any]:
        """Requests served so far: {"kube": {method: n}, "rpc": {endpoint: {user_agent: n}}}
        (control_api.ControlApi.requests)."""
        return dict(self.call("GET", "/requests", timeout=5.0))

    def faults(self) -> list[dict[str, Any]]:
        if self.running():
            return list(self.call("GET", "/faults"))
        from jeju_lab.faults import FAULTS

        return [{"name": f.name, "incident": f.incident, "summary": f.summary, "remedy": f.remedy,
                 "active": False} for f in FAULTS.values()]

    def break_fault(self, name: str) -> dict[str, Any]:
        self._known(name)
        return dict(self.call("POST", f"/break/{name}"))

    def heal(self, name: str | None = None) -> dict[str, Any]:
        if name:
            self._known(name)
        return dict(self.call("POST", f"/heal/{name}" if name else "/heal"))

    def kube_api_fault(self, mode: str, count: int = 1, *, methods: tuple[str, ...] = (), path_contains: str = "",
                       stall_seconds: float = 5.0) -> dict[str, Any]:
        """The lab's Kubernetes API answers its next `count` matching requests with a 500 or a 429, stalls them,
        or serves them and loses the answer (mode "500", "429", "stall", "lost"; see kube_double/api_faults.py).
        Returns what is armed and every request answered since the last clear (or heal)."""
        return dict(self.call("POST", "/kube-api-faults", body={
            "mode": mode, "count": count, "methods": list(methods), "path_contains": path_contains,
            "stall_seconds": stall_seconds}))

    def kube_api_faults(self) -> dict[str, Any]:
        """What is armed, and every request a kube API fault answered."""
        return dict(self.call("GET", "/kube-api-faults"))

    def clear_kube_api_faults(self) -> dict[str, Any]:
        return dict(self.call("DELETE", "/kube-api-faults"))

    @staticmethod
    def _known(name: str) -> None:
        from jeju_lab.faults import fault

        fault(name)


def _monitoring_pids(state: dict[str, Any]) -> list[int]:
    pids = state.get("monitoring", {}).get("pids", {})
    return [pid for pid in pids.values() if isinstance(pid, int)]


def monitoring_status(monitoring: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Prometheus and Alertmanager as `lab status` shows them: alive, ready (/-/ready) and their URL."""
    if monitoring.get("problem"):
        return {name: {"healthy": False, "error": monitoring["problem"]} for name in ("prometheus", "alertmanager")}
    result: dict[str, dict[str, Any]] = {}
    for name, url in monitoring.get("urls", {}).items():
        pid = monitoring.get("pids", {}).get(name)
        ready = isinstance(pid, int) and pid_alive(pid) and _ready(str(url))
        result[name] = {"healthy": ready, "pid": pid, "url": url}
    return result


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=1.0) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except OSError:
        return False
