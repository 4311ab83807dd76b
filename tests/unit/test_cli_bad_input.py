"""Bad input: a clear message, exit 2, no traceback, and no run record. Through CliRunner and the real script."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jeju_play.cli import _route, app
from tests.support import recorded_runs, run_cli

BAD_INPUTS = [
    (["nosuch", "-i", "lab"], "Unknown incident 'nosuch'"),
    (["demo-okk", "-i", "lab"], "Did you mean demo-ok"),
    (["demo-ok", "-i", "nosuch"], "Environments: lab, prod"),
    (["demo-ok", "-i", "lab", "-e", "novalue"], "-e expects KEY=VALUE"),
    (["demo-ok", "-i", "lab", "-e", "ansible_python_interpreter=/bin/false"], "set by jeju-play itself"),
    (["demo-ok", "-i", "lab", "--yes-i-mean", "prod"], "does not match the environment 'lab'"),
    (["show", "nosuch"], "jeju-play list"),
    (["runs", "show", "20260101T000000Z-nothing"], "jeju-play history"),
    (["runs", "show", "x" * 300], "jeju-play history"),
    (["demo-ok", "-i", "lab", "-e", "k=[1"], "-e k: the value is not a YAML list or mapping"),
    (["demo-ok", "-i", "lab", "-e", "k={a: 2024-13-45}"], "-e k: the value is not a YAML list or mapping"),
    (["demo-ok", "-i", "x" * 300], "Unknown environment"),
    # -e that overrides an inventory setting is held to the inventory's schema
    (["demo-ok", "-i", "lab", "-e", "jeju_gate_timeout_seconds=-5"],
     "jeju_gate_timeout_seconds in the command line must be more than 0, got -5"),
    (["demo-ok", "-i", "lab", "-e", "jeju_gate_timout_seconds=5"], "did you mean jeju_gate_timeout_seconds?"),
    (["demo-ok", "-i", "lab", "-e", "jeju_production=maybe"], "-e jeju_production does not hold"),
    (["validate", "-i", "nosuch"], "Environments: lab, prod"),
    (["audit", "verify"], "Give one RUN_ID"),
    (["audit", "verify", "--all", "20260101T000000Z-nothing"], "Give one RUN_ID"),
    (["audit", "verify", "20260101T000000Z-nothing"], "jeju-play history"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS)
def test_bad_input_through_the_installed_script(project: Path, runs_dir: Path, argv: list[str],
                                                message: str) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr + result.stdout
    assert recorded_runs(runs_dir) == []


def test_malformed_inventory_names_file_and_line(project: Path, runs_dir: Path) -> None:
    vars_file = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text() + "oops: [\n")
    result = run_cli("demo-ok", "-i", "lab", "--yes")
    assert result.returncode == 2
    assert "vars.yml line" in result.stderr and "Traceback" not in result.stderr
    assert recorded_runs(runs_dir) == []


def test_placeholder_is_refused(project: Path, runs_dir: Path) -> None:
    vars_file = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text().replace("remediated.txt", '"PLACEHOLDER: the marker"'))
    result = run_cli("demo-ok", "-i", "lab", "--yes")
    assert result.returncode == 2
    assert "demo_marker_name" in result.stderr and "placeholder" in result.stderr
    assert recorded_runs(runs_dir) == []


def test_real_mainnet_inventory_is_refused_until_filled_in(runs_dir: Path) -> None:
    result = run_cli("network-down", "-i", "mainnet")
    assert result.returncode == 2
    assert "is still a placeholder" in result.stderr
    assert recorded_runs(runs_dir) == []


def test_each_problem_is_one_unwrapped_line_however_long_the_path(tmp_path: Path) -> None:
    deep = tmp_path / ("a-very-long-checkout-folder-name-" * 3) / "jeju"
    inventory = deep / "inventories" / "mainnet"
    inventory.mkdir(parents=True)
    source = Path(__file__).resolve().parents[2] / "inventories" / "mainnet"
    for item in source.rglob("*"):
        if item.is_file():
            target = inventory / item.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.read_text())
    result = run_cli("network-down", "-i", str(inventory))
    assert result.returncode == 2
    header, *problems = result.stderr.strip().splitlines()
    assert header.startswith(f"InvalidInventory: {len(problems)} problems in environment 'mainnet' ({inventory})")
    assert len(problems) > 1 and all(line.startswith("  - ") for line in problems), result.stderr
    placeholders = [line for line in problems if "is still a placeholder" in line]
    assert placeholders and all(f"{inventory}/group_vars/all/vars.yml is still a placeholder (line " in line
                                and line.endswith("Fill in the real value before running here.")
                                for line in placeholders)


def test_a_single_problem_is_a_single_line(project: Path, runs_dir: Path) -> None:
    vars_file = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text().replace("remediated.txt", '"PLACEHOLDER: the marker"'))
    result = run_cli("demo-ok", "-i", "lab")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"InvalidInventory: demo_marker_name in {vars_file} is still a placeholder (line 5: PLACEHOLDER: the "
        "marker). Fill in the real value before running here."]


def test_cli_runner_maps_errors_to_exit_2(project: Path, runs_dir: Path) -> None:
    for argv, message in BAD_INPUTS:
        result = CliRunner().invoke(app, _route(argv))
        assert result.exit_code == 2, (argv, result.output)
        assert message in " ".join(result.output.split())
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert recorded_runs(runs_dir) == []


def test_list_json_has_the_fields_tools_read() -> None:
    import json

    result = run_cli("list", "--json")
    assert result.returncode == 0
    incidents = json.loads(result.stdout)
    names = {i["name"] for i in incidents}
    assert {"network-down", "security-breach", "handoff"} <= names
    for incident in incidents:
        assert {"name", "severity", "response_time", "playbook", "aliases", "alerts"} <= incident.keys()


def test_show_prints_manual_steps_for_a_manual_incident(project: Path) -> None:
    result = run_cli("show", "demo-manual")
    assert result.returncode == 0
    assert "Not automated yet" in result.stdout and "kubectl get pods -n demo" in result.stdout


def test_show_outlines_phases_and_gates(project: Path) -> None:
    result = run_cli("show", "demo")
    assert result.returncode == 0
    assert "remediate" in result.stdout
    playbook = result.stdout.split("\nRunner")[0]  # the runner's own gates follow the playbook's
    gate_lines = [line for line in playbook.splitlines() if "GATE" in line]
    assert gate_lines == [gate_lines[0]] and "Ask before writing the marker" in gate_lines[0]


def test_list_and_help_import_no_heavy_library() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\nfrom jeju_play.cli import app, _route\n"
        "for argv in (['--help'], ['list']):\n"
        "    try:\n        app(args=_route(argv), prog_name='jeju-play')\n"
        "    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('ansible', 'ansible_runner', 'web3', 'kubernetes') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
