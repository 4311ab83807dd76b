"""Run one incident's playbook through ansible-runner: events to the sink, gates answered, Ctrl-C handled.

The runner passes every playbook the catalog entry of its incident (jeju_incident) and every incident in brief
(jeju_catalog), besides the run's id and folder. Roles, ansible.cfg and the collection jeju.ops all come from the
same project tree as the playbook.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jeju_play import approvals, incidents
from jeju_play.events import EventSink
from jeju_play.gates import ApprovalPolicy, GateKeeper
from jeju_play.interrupt import Interrupt
from jeju_play.paths import Project
from jeju_play.request import RunRequest
from jeju_play.view import RunView

POLL_SECONDS = 0.05
# How often ansible-runner looks at the cancel flag (its default, 5 s, made Ctrl-C feel ignored).
RUNNER_SETTINGS = {"pexpect_timeout": 0.5}
INTERRUPTED = "interrupted by the operator (Ctrl-C)"


def extra_vars(request: RunRequest, run_id: str, run_dir: Path,
               incident: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        **({"jeju_incident_record": incident} if incident else {}),
        **request.extra_vars,
        "ansible_python_interpreter": sys.executable,
        "jeju_run_id": run_id,
        "jeju_run_dir": str(run_dir),
        "jeju_project_root": str(request.root),
        "jeju_incident": request.incident.for_playbook(),
        "jeju_catalog": request.catalog,
        "jeju_open_incidents": incidents.brief(request.environment.name),
    }


def envvars(project: Project, gate_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_CONFIG": str(project.ansible_cfg),
        "ANSIBLE_COLLECTIONS_PATH": str(project.collections()) + os.pathsep + str(site_collections()),
        "ANSIBLE_ROLES_PATH": str(project.roles),
        "ANSIBLE_NOCOLOR": "1",
        "JEJU_PLAY_GATE_DIR": str(gate_dir),
        # the playbook dies with this run (plugins/callback/runner_tether.py): no orphan changes things unwatched;
        # the Kubernetes and Ethereum libraries are imported once, not in each task's worker (callback/preload.py)
        "ANSIBLE_CALLBACKS_ENABLED": "jeju.ops.runner_tether,jeju.ops.preload",
        "JEJU_PLAY_RUNNER_PID": str(os.getpid()),
    }


def site_collections() -> Path:
    """Where the `ansible` pip package put kubernetes.core and community.general."""
    import importlib.util

    spec = importlib.util.find_spec("ansible_collections")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]).parent if locations else Path(sys.prefix)


def run(request: RunRequest, policy: ApprovalPolicy, view: RunView, sink: EventSink, run_id: str, run_dir: Path,
        private: Path, incident: dict[str, Any] | None = None, playbook: Path | None = None) -> int:
    """The playbook's return code (254 when cancelled). playbook: another than the incident's (jeju-play's own)."""
    import ansible_runner  # heavy: imported only when a playbook really runs

    project = Project(request.root)
    gate_dir = private / "gates"
    gate_dir.mkdir()
    keeper = GateKeeper(gate_dir, policy, inbox=run_dir / approvals.FOLDER)
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    cmdline = ["--check", "--diff"] if request.check else []
    if request.verbosity:
        cmdline.append("-" + "v" * min(request.verbosity, 4))
    interrupt = Interrupt()
    with interrupt.catching():
        thread, runner = ansible_runner.run_async(
            private_data_dir=str(private),
            playbook=str(playbook or request.root / request.incident.playbook),
            inventory=[str(p) for p in request.environment.inventories],
            extravars=extra_vars(request, run_id, run_dir, incident),
            envvars=envvars(project, gate_dir),
            cmdline=" ".join(cmdline) or None,
            settings=dict(RUNNER_SETTINGS),
            event_handler=lambda event: _enqueue(events, event),
            cancel_callback=interrupt.event.is_set,
            quiet=True,
            suppress_env_files=True,
        )
        _loop(thread, events, sink, keeper, view, interrupt)
    return int(runner.rc if runner.rc is not None else 1)


def _loop(thread: threading.Thread, events: queue.Queue[dict[str, Any]], sink: EventSink, keeper: GateKeeper,
          view: RunView, interrupt: Interrupt) -> None:
    waiting_noted: set[str] = set()
    stopping = False
    try:
        while thread.is_alive() or not events.empty():
            _drain(events, sink)
            if interrupt.is_set and not stopping:
                stopping = True
                sink.interrupted = True
                for request, answer in keeper.close(INTERRUPTED):
                    view.note(f"Gate '{request.get('task')}': refused ({answer['how']})", style="yellow")
                view.note("Interrupted: stopping the playbook. What already ran stays done; see the record.",
                          style="bold yellow")
            elif not stopping:
                _answer_gates(keeper, view, waiting_noted)
            time.sleep(POLL_SECONDS)
        thread.join()
        _drain(events, sink)
    finally:
        keeper.withdraw_all()
        view.stop()


def _answer_gates(keeper: GateKeeper, view: RunView, waiting_noted: set[str]) -> None:
    keeper.poll()
    for gate_id, req in keeper.pending.items():
        if gate_id not in waiting_noted:
            waiting_noted.add(gate_id)
            view.note(f"Waiting for approval of '{' '.join(str(req['description']).split())}' (no terminal to ask; "
                      "it is refused when the gate's timeout runs out). Answer it with `jeju-play approve "
                      f"{keeper.run_id} {req.get('approval')}` (or deny), or re-run with --yes to pre-approve.",
                      style="yellow")


def _enqueue(events: queue.Queue[dict[str, Any]], event: dict[str, Any]) -> bool:
    events.put(event)
    return True  # keep ansible-runner's own copy of the event too


def _drain(events: queue.Queue[dict[str, Any]], sink: EventSink) -> None:
    while True:
        try:
            sink.handle(events.get_nowait())
        except queue.Empty:
            return
