"""`python -m jeju_play.checks`: the project checks CI runs.

- the catalog is sound and every playbook is listed (jeju_play.catalog.check);
- no file outside catalog.yml lists incidents: no Python string literal names one (the lab's fault table may name
  the incident each fault belongs to; each must exist), and no YAML list in playbooks or roles holds two or more;
- every alert in the catalog has a rule in monitoring/alerts.yml (labelled with its incident) and every rule's
  alert is in the catalog;
- `tasks_from` never carries a file suffix (with one, ansible-core finds no argument spec and skips validation,
  and `jeju-play show` cannot follow it);
- playbooks and roles read the cluster through jeju.ops.k8s_read, never the kubernetes.core.k8s lookup itself
  (a lookup fails before its task's until loop: only k8s_read asks again while the API has a bad moment);
- every read whose module check mode skips (uri, command, shell, script, raw) says `check_mode: false`: else
  `--check` diagnoses without it and plans for another cause than the run acts on.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

from jeju_play import catalog, yamlio
from jeju_play.errors import JejuPlayError

CODE_DIRS = ("jeju_play", "jeju_lab", "plugins")
YAML_DIRS = ("playbooks", "roles")
FAULT_TABLE = Path("jeju_lab") / "faults.py"
# Modules that do not run in check mode (no check mode support): a read through one of them is skipped by --check.
CHECK_MODE_SKIPS = ("ansible.builtin.uri", "ansible.builtin.command", "ansible.builtin.shell",
                    "ansible.builtin.script", "ansible.builtin.raw")
_K8S_LOOKUP = re.compile(r"""(?:query|lookup)\(\s*['"]kubernetes\.core\.k8s['"]""")
_TASKS_FROM = re.compile(r"^\s*tasks_from:\s*['\"]?[\w/.-]+\.ya?ml['\"]?\s*$")


def main(root: Path | None = None) -> int:
    from jeju_play.cli import command_names
    from jeju_play.paths import project_root

    base = root or project_root()
    try:
        cat = catalog.load(base)
        problems = catalog.check(cat, command_names())
        names = set(cat.names())  # aliases are words too common in code ("errors", "exploit") to forbid
        problems += incident_lists(base, names) + tasks_from_suffixes(base) + alert_rules(base, cat)
        problems += check_mode_reads(base) + direct_k8s_lookups(base)
    except JejuPlayError as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"check: {problem}", file=sys.stderr)
    if not problems:
        print(f"check: {base / 'catalog.yml'} is sound; no incident is listed outside it")
    return 1 if problems else 0


def incident_lists(root: Path, names: set[str]) -> list[str]:
    problems: list[str] = []
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*.py")) if (root / folder).is_dir() else []:
            relative = path.relative_to(root)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            allowed = _fault_table_names(tree) if relative == FAULT_TABLE else set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names and (
                        id(node) not in allowed):
                    problems.append(f"{relative}:{node.lineno} names the incident '{node.value}': read it from "
                                    "catalog.yml (a catalog flag, or jeju_incident / jeju_catalog in playbooks).")
            if relative == FAULT_TABLE:
                problems += [f"{relative}: fault of unknown incident '{name}'." for name in _fault_incidents(tree)
                             if name not in names]
    for folder in YAML_DIRS:
        for path in sorted((root / folder).rglob("*.yml")) if (root / folder).is_dir() else []:
            for found in _yaml_lists(yamlio.load(path.read_text(encoding="utf-8")), names):
                problems.append(f"{path.relative_to(root)} lists incidents {sorted(found)}: use jeju_catalog.")
    return problems


def _fault_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Fault"]


def _fault_table_names(tree: ast.AST) -> set[int]:
    """The AST nodes of the fault table that may name incidents: each Fault's incident and its also_for keys."""
    allowed: set[int] = set()
    for call in _fault_calls(tree):
        if len(call.args) > 1:
            allowed.add(id(call.args[1]))
        for keyword in call.keywords:
            if keyword.arg == "also_for" and isinstance(keyword.value, ast.Dict):
                allowed |= {id(key) for key in keyword.value.keys if key is not None}
    return allowed


def _fault_incidents(tree: ast.AST) -> list[str]:
    found = []
    for call in _fault_calls(tree):
        if len(call.args) > 1 and isinstance(call.args[1], ast.Constant):
            found.append(str(call.args[1].value))
        for keyword in call.keywords:
            if keyword.arg == "also_for" and isinstance(keyword.value, ast.Dict):
                found += [str(k.value) for k in keyword.value.keys if isinstance(k, ast.Constant)]
    return found


def _yaml_lists(data: Any, names: set[str]) -> list[set[str]]:
    found: list[set[str]] = []
    if isinstance(data, list):
        named = {item for item in data if isinstance(item, str) and item in names}
        if len(named) >= 2:
            found.append(named)
        for item in data:
            found += _yaml_lists(item, names)
    elif isinstance(data, dict):
        keys = {key for key in data if isinstance(key, str) and key in names}
        if len(keys) >= 2:
            found.append(keys)
        for value in data.values():
            found += _yaml_lists(value, names)
    return found


def alert_rules(root: Path, cat: catalog.Catalog) -> list[str]:
    """monitoring/alerts.yml has a rule for every alert the catalog names, only those, labelled with its incident."""
    path = root / "monitoring" / "alerts.yml"
    if not path.is_file():
        return [f"{path.relative_to(root)} is missing: render it (python -m jeju_lab.monitoring rules)."]
    data = yamlio.load(path.read_text(encoding="utf-8")) or {}
    rules = {rule["alert"]: rule for group in data.get("groups") or [] for rule in group.get("rules") or []
             if isinstance(rule, dict) and "alert" in rule}
    problems = []
    for incident in cat.incidents:
        for alert in incident.alerts:
            if alert not in rules:
                problems.append(f"catalog.yml: alert {alert} ({incident.name}) has no rule in monitoring/alerts.yml.")
            elif (rules[alert].get("labels") or {}).get("incident") != incident.name:
                problems.append(f"monitoring/alerts.yml: {alert} must be labelled incident: {incident.name}.")
    problems += [f"monitoring/alerts.yml: alert {alert} is in no incident's `alerts` in catalog.yml."
                 for alert in rules if cat.by_alert(alert) is None]
    return problems


def tasks_from_suffixes(root: Path) -> list[str]:
    problems = []
    for folder in (*YAML_DIRS, "tests"):
        for path in sorted((root / folder).rglob("*.yml")) if (root / folder).is_dir() else []:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if _TASKS_FROM.match(line):
                    problems.append(f"{path.relative_to(root)}:{number}: tasks_from names an entry point, not a "
                                    f"file: drop the suffix ({line.strip()}).")
    return problems


def direct_k8s_lookups(root: Path) -> list[str]:
    problems = []
    for folder in YAML_DIRS:
        for path in sorted((root / folder).rglob("*.yml")) if (root / folder).is_dir() else []:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if _K8S_LOOKUP.search(line) and not line.lstrip().startswith("#"):
                    problems.append(f"{path.relative_to(root)}:{number}: read the cluster with "
                                    "lookup('jeju.ops.k8s_read', ...), which asks again while the API has a bad "
                                    "moment; the kubernetes.core.k8s lookup fails the task at once.")
    return problems


def _tasks(items: Any) -> Any:
    for task in items if isinstance(items, list) else []:
        if isinstance(task, dict):
            for key in ("block", "rescue", "always", "pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(task.get(key))
            yield task


def _is_read(module: str, task: dict[str, Any]) -> bool:
    given = task.get(module)
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    if task.get("changed_when") is False:
        return True
    return module == "ansible.builtin.uri" and str(args.get("method", "GET")).upper() in ("GET", "HEAD")


def check_mode_reads(root: Path) -> list[str]:
    """Reads (changed_when: false, or a uri GET) through a module check mode skips, without check_mode: false."""
    problems = []
    files = [*sorted((root / "playbooks").rglob("*.yml")), *sorted(root.glob("roles/*/tasks/*.yml"))]
    for path in files:
        for task in _tasks(yamlio.load(path.read_text(encoding="utf-8"))):
            module = next((m for m in CHECK_MODE_SKIPS if m in task), None)
            if module and _is_read(module, task) and task.get("check_mode") is not False:
                problems.append(f"{path.relative_to(root)}: task '{task.get('name', module)}' reads through "
                                f"{module}, which --check skips: add `check_mode: false` (a read changes nothing) "
                                "so the plan sees what the run sees.")
    return problems


if __name__ == "__main__":
    sys.exit(main())
