"""Start and stop a real anvil node (from the pinned npm package) on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from jeju_play.errors import LabError
from jeju_play.paths import node_bin

# anvil's default test mnemonic: every key derived from it is public knowledge and for tests only.
TEST_MNEMONIC = "test test test test test test test test test test test junk"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        reply = json.loads(response.read())
    if "error" in reply:
        raise LabError(f"{method} on {url} failed: {reply['error']}")
    return reply.get("result")


@dataclass
class AnvilNode:
    """One anvil process. `start()` waits until it answers eth_chainId; `stop()` ends it by pid."""

    chain_id: int
    port: int = 0
    block_time: float | None = None
    accounts: int = 10
    balance_eth: int = 10000
    log_path: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = node_bin("anvil")
        if not binary.exists():
            raise LabError(f"anvil is not installed at {binary}: run `make install`.")
        cmd = [
            str(binary), "--host", "127.0.0.1", "--port", str(self.port),
            "--chain-id", str(self.chain_id), "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth), "--mnemonic", TEST_MNEMONIC,
        ]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        return cmd + self.extra_args

    def start(self, timeout: float = 10.0) -> AnvilNode:
        if not self.port:
            self.port = free_port()
        log_file = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        try:
            process = subprocess.Popen(
                self.command(), stdout=log_file or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            if log_file is not None:
                log_file.close()
        self.pid = process.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LabError(f"anvil exited with {process.returncode} on port {self.port}; see {self.log_path}")
            try:
                rpc_call(self.url, "eth_chainId", timeout=0.5)
                return self
            except (OSError, LabError):
                time.sleep(0.05)
        self.stop()
        raise LabError(f"anvil did not answer on {self.url} within {timeout:.0f} s")

    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def stop(self, timeout: float = 5.0) -> None:
        if self.pid is not None:
            stop_pid(self.pid, timeout)
            self.pid = None


def pid_alive(pid: int) -> bool:
    """True while the process runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # reap it if it is our child
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def stop_pid(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps the child when it is ours."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while pid_alive(pid):
        time.sleep(0.02)
