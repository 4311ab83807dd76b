"""A static outline of a playbook for `jeju-play show`: plays by phase, their tasks, and which are gates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import yamlio

_TASK_KEYWORDS = {
    "name", "when", "register", "loop", "loop_control", "vars", "tags", "become", "changed_when",
    "failed_when", "ignore_errors", "no_log", "delegate_to", "run_once", "until", "retries", "delay",
    "environment", "check_mode", "diff", "notify", "module_defaults", "any_errors_fatal", "args",
    "with_items", "with_dict", "async", "poll", "throttle", "timeout",
}
GATE_MODULES = {"jeju.ops.gate", "gate"}
ESCALATE_MODULES = {"jeju.ops.escalate", "escalate"}
# Steps that only move facts, write the record or tell people (roles/comms, at every step of every incident, said
# once in `jeju-play show`'s header): `jeju-play show -v` lists them.
NOTIFY = {"chat_message", "pagerduty_event", "statuspage"}
BOOKKEEPING = {"set_fact", "meta", "record", "file", "copy", "template", "debug", "fail", "assert",
               "validate_argument_spec", "stat", "find", "async_status"} | NOTIFY
_INCLUDES = {"ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks"}
_ROLES = {"ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"}


@dataclass
class Step:
    name: str
    module: str
    gated: bool
    depth: int = 0
    when: str = ""  # the condition of a branch, in brief ("cause l1_rpc_down")

    @property
    def escalates(self) -> bool:
        return self.module in ESCALATE_MODULES

    @property
    def bookkeeping(self) -> bool:
        return self.module.rsplit(".", maxsplit=1)[-1] in BOOKKEEPING or self.module in _INCLUDES | _ROLES


@dataclass
class PlayOutline:
    phase: str
    name: str
    steps: list[Step] = field(default_factory=list)


def gates(playbook: Path, roles_dir: Path) -> list[Step]:
    """Every gate the playbook can reach, through its includes and roles."""
    return [step for play in outline(playbook, roles_dir) for step in play.steps if step.gated]


def outline(playbook: Path, roles_dir: Path) -> list[PlayOutline]:
    from jeju_play.events import phase_of

    plays = yamlio.load(playbook.read_text(encoding="utf-8")) or []
    result = []
    for play in plays:
        if not isinstance(play, dict) or "hosts" not in play:
            continue
        entry = PlayOutline(phase_of(str(play.get("name", ""))), str(play.get("name", "")))
        for role in play.get("roles", []):
            role_name = role if isinstance(role, str) else role.get("role", role.get("name", ""))
            entry.steps += _role_steps(str(role_name), roles_dir, 0)
        for key in ("pre_tasks", "tasks", "post_tasks"):
            entry.steps += _steps(play.get(key) or [], playbook.parent, roles_dir, 0)
        result.append(entry)
    return result


_CAUSE = re.compile(r"cause\s*(==|in)\s*(\[[^\]]*\]|'[^']*')")


def _branch(when: Any) -> str:
    """A branch on the decided cause, as `cause X` (or `cause X, Y`); other conditions are not shown."""
    found = _CAUSE.search(" ".join(when) if isinstance(when, list) else str(when or ""))
    return f"cause {found.group(2).strip('[]').replace(chr(39), '')}" if found else ""


def _module(task: dict[str, Any]) -> str:
    for key in task:
        if key not in _TASK_KEYWORDS and key not in ("block", "rescue", "always"):
            return str(key)
    return "block" if "block" in task else "?"


def _steps(tasks: list[Any], base: Path, roles_dir: Path, depth: int,
           within: frozenset[Path] = frozenset()) -> list[Step]:
    """The steps of `tasks`, includes expanded once: a file that includes itself (incident's rounds) is not
    expanded again inside itself (`within` holds the files being expanded)."""
    steps: list[Step] = []
    for task in tasks:
        if not isinstance(task, dict):
            continue
        if "block" in task:
            steps += _steps(task["block"] + task.get("rescue", []) + task.get("always", []), base, roles_dir,
                            depth, within)
            continue
        module = _module(task)
        name = str(task.get("name", module))
        steps.append(Step(name, module, module in GATE_MODULES, depth, _branch(task.get("when"))))
        arg = task.get(module)
        if module in _INCLUDES and isinstance(arg, str | dict) and "{{" not in str(arg):
            file = arg if isinstance(arg, str) else arg.get("file", "")
            path = (base / file).resolve()
            if path.is_file() and path not in within:
                steps += _steps(yamlio.load(path.read_text()) or [], path.parent, roles_dir, depth + 1,
                                within | {path})
        elif module in _ROLES and isinstance(arg, dict):
            steps += _role_steps(str(arg.get("name", "")), roles_dir, depth + 1,
                                 str(arg.get("tasks_from", "main")).removesuffix(".yml"), within)
    return steps


def _role_steps(role: str, roles_dir: Path, depth: int, tasks_from: str = "main",
                within: frozenset[Path] = frozenset()) -> list[Step]:
    short = role.rsplit(".", maxsplit=1)[-1]
    path = (roles_dir / short / "tasks" / f"{tasks_from}.yml").resolve()
    if not path.is_file():
        return [Step(f"role {role}", "role", False, depth)]
    if path in within:
        return []
    return _steps(yamlio.load(path.read_text()) or [], path.parent, roles_dir, depth, within | {path})
