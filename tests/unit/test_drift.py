"""`jeju-play drift`: the live changes recorded in runs/<id>/artifacts/drift.yml written into a GitOps values tree.

The logic through jeju_play.drift; the command through CliRunner on a small app with the real group of jeju_play.cli
(which turns BadInput into its message and exit code 2).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner, Result

from jeju_play import cli_drift, drift
from jeju_play.cli import _Group
from jeju_play.errors import BadInput
from jeju_play.incidents import Incident, RunRef

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gitops-values"
RUN = "20260102T030405Z-network-down-ab12"
L1 = {"file": "op-node/values.yaml", "key": "l1RpcUrl", "was": "http://127.0.0.1:42283",
      "live": "http://127.0.0.1:35073", "object": "op-stack/deployment/op-node env OP_NODE_L1_ETH_RPC",
      "reason": "the primary L1 RPC stopped answering", "applied": True}
RATE = {"file": "kubernetes/ingress/public-rpc.yaml",
        "key": "metadata.annotations.nginx.ingress.kubernetes.io/limit-rps", "was": "50", "live": "100",
        "object": "op-stack/ingress/public-rpc", "reason": "connection overload", "applied": True}


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    runs, incidents = tmp_path / "runs", tmp_path / "incidents"
    runs.mkdir()
    monkeypatch.setenv("JEJU_PLAY_RUNS", str(runs))
    monkeypatch.setenv("JEJU_PLAY_INCIDENTS", str(incidents))
    monkeypatch.setenv("COLUMNS", "80")
    return runs, incidents


@pytest.fixture
def values(tmp_path: Path) -> Path:
    tree = tmp_path / "values"
    shutil.copytree(FIXTURE, tree)
    return tree


def make_run(runs: Path, run_id: str, entries: list[dict[str, Any]] | None, check_mode: bool = False) -> Path:
    folder = runs / run_id
    (folder / "artifacts").mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"run_id": run_id, "check_mode": check_mode}) + "\n")
    if entries is not None:
        (folder / "artifacts" / "drift.yml").write_text(
            f"# Changes made live by jeju-play run {run_id}. Reconcile each one in the GitOps\n"
            "# values (file -> key), or the next sync reverts it.\n"
            + yaml.safe_dump({"drift": entries}, indent=2, default_flow_style=False))
    return folder


def make_incident(incidents: Path, incident_id: str, run_ids: list[str]) -> None:
    incident = Incident(id=incident_id, incident="network-down", environment="local", title="L1 RPC down",
                        severity="P1", escalation=1, update_every=None, opened="2026-01-02T03:04:05Z", origin="cli",
                        runs=[RunRef(run_id=r, started="2026-01-02T03:04:05Z", check_mode=False, origin="cli")
                              for r in run_ids])
    (incidents / incident_id).mkdir(parents=True)
    (incidents / incident_id / "incident.json").write_text(json.dumps(incident.as_dict(), indent=2) + "\n")


def invoke(*args: str) -> Result:
    app = typer.Typer(cls=_Group, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

    @app.callback()
    def main() -> None:
        """The drift command alone, as jeju_play.cli registers it."""

    app.command("drift")(cli_drift.drift)
    return CliRunner().invoke(app, ["drift", *args])


def fixture_text(relpath: str) -> str:
    return (FIXTURE / relpath).read_text(encoding="utf-8")


def replaced(relpath: str, *pairs: tuple[str, str]) -> str:
    text = fixture_text(relpath)
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def snapshot(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def flat(text: str) -> str:
    return " ".join(text.split())


def entry(data: dict[str, Any], **changes: Any) -> drift.DriftEntry:
    merged = {**data, **changes}
    return drift.DriftEntry(file=merged["file"], key=merged["key"], was=merged.get("was"), live=merged["live"],
                            object=merged.get("object", ""), reason=merged.get("reason", ""),
                            applied=merged.get("applied", True), runs=(RUN,))


def only(changes: list[drift.FileChange]) -> drift.FileChange:
    assert len(changes) == 1
    return changes[0]


# -- the edit itself ---------------------------------------------------------------------------------------------


def test_the_diff_is_exactly_the_change_and_everything_else_is_kept(values: Path) -> None:
    change = only(drift.plan([entry(L1)], values))
    assert change.new_text == replaced("op-node/values.yaml", ('l1RpcUrl: "http://127.0.0.1:42283"',
                                                               'l1RpcUrl: "http://127.0.0.1:35073"'))
    assert changed_lines(change.diff) == ['-l1RpcUrl: "http://127.0.0.1:42283"', '+l1RpcUrl: "http://127.0.0.1:35073"']
    assert change.diff.startswith("--- a/op-node/values.yaml\n+++ b/op-node/values.yaml\n@@ ")
    assert change.edits[0].warning is None
    assert (values / "op-node" / "values.yaml").read_text() == fixture_text("op-node/values.yaml")  # plan is pure


def test_types_are_kept_when_jinja_rendered_the_live_value_as_text(values: Path) -> None:
    changes = drift.plan([entry(L1, file="reth/values.yaml", key="replicas", was="2", live="3"),
                          entry(L1, file="op-batcher/values.yaml", key="useEigenDA", was="True", live="False"),
                          entry(L1, file="op-batcher/values.yaml", key="maxGasPrice", was="200", live="350.0")],
                         values)
    reth, batcher = changes
    assert reth.new_text == replaced("reth/values.yaml", ("replicas: 2\n", "replicas: 3\n"))
    assert yaml.safe_load(reth.new_text)["replicas"] == 3
    assert batcher.new_text == replaced("op-batcher/values.yaml", ("useEigenDA: true", "useEigenDA: false"),
                                        ("maxGasPrice: 200  #", "maxGasPrice: 350  #"))
    assert [edit.warning for change in changes for edit in change.edits] == [None, None, None]


def test_an_end_of_line_comment_stays_two_spaces_after_a_longer_value(values: Path) -> None:
    change = only(drift.plan([entry(L1, key="resources.limits.memory", was="2Gi", live="1536Mi")], values))
    assert change.new_text == replaced("op-node/values.yaml", ("    memory: 2Gi  # raised after the March OOM",
                                                               "    memory: 1536Mi  # raised after the March OOM"))


def test_the_annotation_key_is_resolved_greedily_and_its_quotes_kept(values: Path) -> None:
    rpm = entry(RATE, key="metadata.annotations.nginx.ingress.kubernetes.io/limit-rpm", was="", live="600")
    change = only(drift.plan([entry(RATE), rpm], values))
    assert change.new_text == replaced(
        "kubernetes/ingress/public-rpc.yaml",
        ('limit-rps: "50"', 'limit-rps: "100"'),
        ("proxy-body-size: 1m\n", 'proxy-body-size: 1m\n    nginx.ingress.kubernetes.io/limit-rpm: "600"\n'))
    annotations = yaml.safe_load(change.new_text)["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rps"] == "100"
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "600"
    assert [edit.warning for edit in change.edits] == [None, None]


def test_missing_maps_are_made_one_segment_a_level_and_labels_take_the_rest(values: Path) -> None:
    cpu = entry(L1, key="resources.limits.cpu", was="", live="2")
    claim = entry(L1, key="persistence.existingClaim", was=None, live="op-node-data-1")
    label = entry(RATE, key="metadata.labels.app.kubernetes.io/part-of", was="", live="jeju")
    op_node, ingress = drift.plan([cpu, claim, label], values)
    # the new key goes after the last one of its mapping, before the blank line and the comment of what follows
    assert op_node.new_text == replaced("op-node/values.yaml", ("memory: 2Gi  # raised after the March OOM\n",
                                                                "memory: 2Gi  # raised after the March OOM\n"
                                                                "    cpu: '2'\n")) + \
        "persistence:\n  existingClaim: op-node-data-1\n"
    assert ingress.new_text == replaced("kubernetes/ingress/public-rpc.yaml", (
        "proxy-body-size: 1m\n", "proxy-body-size: 1m\n  labels:\n    app.kubernetes.io/part-of: jeju\n"))


def test_a_selector_dict_changes_only_the_label_that_differs(values: Path) -> None:
    was = {"app.kubernetes.io/name": "reth", "app.kubernetes.io/component": "rpc"}
    live = {"app.kubernetes.io/name": "reth", "app.kubernetes.io/component": "execution"}
    change = only(drift.plan([entry(L1, file="reth/values.yaml", key="service.selector", was=was, live=live)],
                             values))
    assert change.new_text == replaced("reth/values.yaml", ("component: rpc", "component: execution"))
    assert change.edits[0].warning is None
    # Jinja may render the dict as Python text: it compares by meaning
    change = only(drift.plan([entry(L1, file="reth/values.yaml", key="service.selector", was=str(was),
                                    live=str(live))], values))
    assert changed_lines(change.diff) == ["-    app.kubernetes.io/component: rpc",
                                          "+    app.kubernetes.io/component: execution"]
    assert change.edits[0].warning is None


def test_a_new_list_is_written_with_the_files_sequence_indent(values: Path) -> None:
    args = entry(L1, key="extraArgs", was=["--p2p.disable", "--rpc.enable-admin"], live=["--p2p.disable", "--l2.x"])
    change = only(drift.plan([args], values))
    assert changed_lines(change.diff) == ["-  - --rpc.enable-admin", "+  - --l2.x"]


def test_lines_ruamel_would_rewrite_are_kept_as_they_were(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    original = "# head comment\n---\nname:    jeju   # aligned\nimage:\n    tag: v1\n    pull: Always\nend: 1"
    (tmp_path / "app" / "values.yaml").write_text(original)
    change = only(drift.plan([entry(L1, file="app/values.yaml", key="image.tag", was="v1", live="v2")], tmp_path))
    assert change.new_text == original.replace("tag: v1", "tag: v2")
    assert change.notes == ()
    change = only(drift.plan([entry(L1, file="app/values.yaml", key="image.digest", was="", live="sha256:ab")],
                             tmp_path))
    assert change.new_text == original.replace("pull: Always\n", "pull: Always\n    digest: sha256:ab\n")
    # a changed line that ruamel.yaml lays out its own way: that line only
    change = only(drift.plan([entry(L1, file="app/values.yaml", key="name", was="jeju", live="jeju2")], tmp_path))
    assert change.new_text == original.replace("name:    jeju   # aligned", "name: jeju2     # aligned")


def test_a_change_that_cannot_be_placed_line_by_line_rewrites_the_file_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "values.yaml").write_text("---\n# top\nsel: {a: 1,\n  b: 2}\nend: 1\n")
    change = only(drift.plan([entry(L1, file="app/values.yaml", key="sel.a", was="1", live="3")], tmp_path))
    assert change.new_text == "---\n# top\nsel: {a: 3, b: 2}\nend: 1\n"
    assert "written whole by ruamel.yaml" in change.notes[0]
    lines = drift.summary([change.edits[0].entry], [change])
    assert any("note: app/values.yaml is written whole" in line for line in lines)


def test_crlf_line_endings_are_written_back(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "values.yaml").write_bytes(b"---\r\nreplicas: 1\r\nname: x\r\n")
    change = only(drift.plan([entry(L1, file="app/values.yaml", key="replicas", was=1, live=2)], tmp_path))
    drift.apply([change])
    assert (tmp_path / "app" / "values.yaml").read_bytes() == b"---\r\nreplicas: 2\r\nname: x\r\n"


def test_a_was_that_differs_from_the_values_warns_and_live_is_still_written(values: Path) -> None:
    change = only(drift.plan([entry(L1, was="http://10.0.0.9:8545")], values))
    assert change.edits[0].warning == ("values had http://127.0.0.1:42283, the run saw http://10.0.0.9:8545 "
                                       "before its change")
    assert 'l1RpcUrl: "http://127.0.0.1:35073"' in change.new_text


def test_a_mapping_replaced_by_a_string_is_written_with_a_warning(values: Path) -> None:
    change = only(drift.plan([entry(L1, key="image", was="op-node:v1.9.4", live="op-node:v1.9.3")], values))
    assert yaml.safe_load(change.new_text)["image"] == "op-node:v1.9.3"
    assert change.edits[0].warning == (
        'values had {"repository": "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node", "tag": "v1.9.4"}, the '
        "run saw op-node:v1.9.4 before its change; the mapping there is replaced by a string: check that the chart "
        "reads it so")


def test_a_file_missing_from_the_values_tree_is_created_with_a_warning(values: Path) -> None:
    change = only(drift.plan([entry(L1, file="op-proposer/values.yaml", key="l2OutputOracle.pollInterval",
                                    was="6s", live="12s")], values))
    assert change.old_text is None
    assert change.new_text == "l2OutputOracle:\n  pollInterval: 12s\n"
    assert change.diff.startswith("--- /dev/null\n+++ b/op-proposer/values.yaml\n")
    assert "had no op-proposer/values.yaml" in (change.edits[0].warning or "")
    drift.apply([change])
    assert (values / "op-proposer" / "values.yaml").read_text() == change.new_text


def test_values_that_already_hold_the_live_value_change_nothing(values: Path) -> None:
    change = only(drift.plan([entry(L1, was="http://127.0.0.1:1", live="http://127.0.0.1:42283")], values))
    assert not change.changed
    assert change.diff == ""


def test_apply_replaces_the_file_at_once_and_keeps_its_mode(values: Path) -> None:
    target = values / "op-node" / "values.yaml"
    target.chmod(0o600)
    written = drift.apply(drift.plan([entry(L1)], values))
    assert written == [target]
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["values.yaml"]  # no temporary file left


def test_apply_refuses_a_file_that_changed_since_the_plan(values: Path) -> None:
    changes = drift.plan([entry(L1)], values)
    target = values / "op-node" / "values.yaml"
    target.write_text(target.read_text() + "extra: 1\n")
    with pytest.raises(BadInput, match="changed while drift was planned"):
        drift.apply(changes)
    assert target.read_text().endswith("extra: 1\n")


@pytest.mark.parametrize("bad", ["../outside.yaml", "op-node/../../outside.yaml", "/etc/jeju/values.yaml"])
def test_a_file_outside_the_values_tree_is_refused(values: Path, bad: str) -> None:
    with pytest.raises(BadInput, match="outside the values tree"):
        drift.plan([entry(L1), entry(L1, file=bad)], values)


def test_a_symbolic_link_out_of_the_tree_is_refused(values: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (values / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadInput, match="outside the values tree"):
        drift.plan([entry(L1, file="linked/values.yaml")], values)


# -- collecting the runs' drift ----------------------------------------------------------------------------------


def test_collect_keeps_order_later_runs_win_and_check_mode_entries_are_skipped(record: tuple[Path, Path]) -> None:
    runs, _ = record
    first = make_run(runs, "r1", [{**L1, "applied": False}, {**RATE, "applied": False}], check_mode=True)
    second = make_run(runs, "r2", [{**L1, "live": "http://127.0.0.1:40000"}])
    third = make_run(runs, "r3", [{**L1, "was": "http://127.0.0.1:40000", "live": "http://127.0.0.1:50000"}])
    entries = drift.collect([first, second, third, runs / "r4-without-drift"])
    assert [(e.file, e.key, e.applied) for e in entries] == [(L1["file"], L1["key"], True),
                                                             (RATE["file"], RATE["key"], False)]
    l1 = entries[0]
    assert (l1.was, l1.live, l1.runs) == ("http://127.0.0.1:42283", "http://127.0.0.1:50000", ("r2", "r3"))
    assert l1.between == ("http://127.0.0.1:40000",)


def test_a_malformed_drift_record_is_bad_input(record: tuple[Path, Path]) -> None:
    runs, _ = record
    folder = make_run(runs, RUN, None)
    (folder / "artifacts" / "drift.yml").write_text("drift:\n- file: a.yaml\n  live: 1\n")
    with pytest.raises(BadInput, match="has no 'key'"):
        drift.collect([folder])
    (folder / "artifacts" / "drift.yml").write_text("drift: [unclosed\n")
    with pytest.raises(BadInput, match="Cannot read the drift record"):
        drift.collect([folder])


# -- the command -------------------------------------------------------------------------------------------------


def test_the_command_writes_prints_the_diff_and_a_line_per_change(record: tuple[Path, Path], values: Path) -> None:
    make_run(record[0], RUN, [L1, {**RATE, "applied": True}])
    before = snapshot(values)
    result = invoke(RUN, "--values", str(values))
    assert result.exit_code == 0, result.output
    out = result.output
    assert '-l1RpcUrl: "http://127.0.0.1:42283"\n+l1RpcUrl: "http://127.0.0.1:35073"\n' in out
    assert "--- a/kubernetes/ingress/public-rpc.yaml\n+++ b/kubernetes/ingress/public-rpc.yaml\n" in out
    assert ("- op-node/values.yaml l1RpcUrl: http://127.0.0.1:42283 -> http://127.0.0.1:35073 "
            "(op-stack/deployment/op-node env OP_NODE_L1_ETH_RPC: the primary L1 RPC stopped answering)") in flat(out)
    assert "limit-rps: 50 -> 100 (op-stack/ingress/public-rpc: connection overload)" in flat(out)
    assert f"Review and commit: git -C {values} diff" in out
    after = snapshot(values)
    assert {k for k in after if after[k] != before[k]} == {"op-node/values.yaml",
                                                           "kubernetes/ingress/public-rpc.yaml"}
    assert after["op-node/values.yaml"].decode() == replaced("op-node/values.yaml", (
        'l1RpcUrl: "http://127.0.0.1:42283"', 'l1RpcUrl: "http://127.0.0.1:35073"'))


def test_the_output_reads_at_80_columns(record: tuple[Path, Path], values: Path) -> None:
    long_reason = "the primary L1 RPC stopped answering for more than five minutes and every check said so " * 2
    make_run(record[0], RUN, [{**L1, "reason": long_reason, "was": "http://10.1.2.3:8545"}, RATE])
    result = invoke(RUN, "--values", str(values), "--check")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    prose = lines[next(i for i, line in enumerate(lines) if line.startswith("Drift of run")):]
    assert len(prose) > 6, result.output
    assert max(len(line) for line in prose if str(values) not in line) <= 80, result.output
    assert "warning: values had http://127.0.0.1:42283, the run saw http://10.1.2.3:8545 before its change" in \
        flat(result.output)


def test_check_mode_prints_the_diff_and_writes_nothing(record: tuple[Path, Path], values: Path) -> None:
    make_run(record[0], RUN, [L1])
    before = snapshot(values)
    result = invoke(RUN, "--values", str(values), "--check")
    assert result.exit_code == 0, result.output
    assert '+l1RpcUrl: "http://127.0.0.1:35073"' in result.output
    assert "Check mode: nothing written" in result.output
    assert "Review and commit" not in result.output
    assert snapshot(values) == before


def test_an_incident_gathers_its_runs_and_lists_check_mode_entries_as_skipped(record: tuple[Path, Path],
                                                                              values: Path) -> None:
    runs, incidents = record
    batcher = {"file": "op-batcher/values.yaml", "key": "useEigenDA", "was": True, "live": False,
               "object": "op-stack/deployment/op-batcher", "reason": "EigenDA down", "applied": False}
    make_run(runs, "20260102T030405Z-network-down-0001", [batcher], check_mode=True)
    make_run(runs, "20260102T031000Z-network-down-0002", [{**L1, "live": "http://127.0.0.1:40000"}])
    make_run(runs, "20260102T032000Z-network-down-0003", [{**L1, "was": "http://127.0.0.1:40000"}])
    make_incident(incidents, "INC-20260102-0304-ab12", ["20260102T030405Z-network-down-0001",
                                                        "20260102T031000Z-network-down-0002",
                                                        "20260102T032000Z-network-down-0003", "not-in-the-record"])
    before = snapshot(values)
    result = invoke("INC-20260102-0304-ab12", "--values", str(values))
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "incident INC-20260102-0304-ab12 (3 runs)" in out
    assert ("op-batcher/values.yaml useEigenDA: true -> false: not applied live (check mode): skipped "
            "(op-stack/deployment/op-batcher: EigenDA down; run 20260102T030405Z-network-down-0001)") in out
    assert "warning" not in out  # the values held what the first applied run saw
    assert "run 20260102T031000Z-network-down-0002, 20260102T032000Z-network-down-0003" in out
    after = snapshot(values)
    assert after["op-batcher/values.yaml"] == before["op-batcher/values.yaml"]
    assert 'l1RpcUrl: "http://127.0.0.1:35073"' in after["op-node/values.yaml"].decode()


def test_a_path_out_of_the_tree_exits_2_and_writes_nothing(record: tuple[Path, Path], values: Path,
                                                           tmp_path: Path) -> None:
    make_run(record[0], RUN, [L1, {**L1, "file": "../outside.yaml", "key": "x"}])
    before = snapshot(values)
    result = invoke(RUN, "--values", str(values))
    assert result.exit_code == 2, result.output
    assert "BadInput" in result.output
    assert "'../outside.yaml'" in result.output
    assert "outside the values tree" in flat(result.output)
    assert "Traceback" not in result.output
    assert snapshot(values) == before
    assert not (tmp_path / "outside.yaml").exists()


def test_a_values_file_that_is_not_yaml_exits_2_and_writes_nothing(record: tuple[Path, Path], values: Path) -> None:
    (values / "reth" / "values.yaml").write_text("replicas: [2\n")
    make_run(record[0], RUN, [L1, {**L1, "file": "reth/values.yaml", "key": "replicas", "was": "2", "live": "3"}])
    before = snapshot(values)
    result = invoke(RUN, "--values", str(values))
    assert result.exit_code == 2, result.output
    assert "The values file reth/values.yaml is not valid YAML" in flat(result.output)
    assert snapshot(values) == before


@pytest.mark.parametrize(("identifier", "message"), [
    ("INC-20990101-0000-dead", "No incident 'INC-20990101-0000-dead'"),
    ("20990101T000000Z-nothing-0000", "is neither an incident (`jeju-play incidents`) nor a run"),
    ("../runs", "is neither an incident"),
])
def test_an_unknown_id_exits_2_with_the_message(record: tuple[Path, Path], values: Path, identifier: str,
                                                message: str) -> None:
    result = invoke(identifier, "--values", str(values))
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)
    assert "Traceback" not in result.output


def test_a_values_dir_that_is_not_a_directory_exits_2(record: tuple[Path, Path], tmp_path: Path) -> None:
    make_run(record[0], RUN, [L1])
    result = invoke(RUN, "--values", str(tmp_path / "nosuch"))
    assert result.exit_code == 2, result.output
    assert "is not a directory" in flat(result.output)


def test_no_drift_says_so_and_exits_0(record: tuple[Path, Path], values: Path) -> None:
    make_run(record[0], RUN, None)
    before = snapshot(values)
    result = invoke(RUN, "--values", str(values))
    assert result.exit_code == 0, result.output
    assert "No drift" in result.output
    assert "Nothing to do" in result.output
    assert snapshot(values) == before
    make_run(record[0], "20260102T040000Z-network-down-ffff", [])
    assert "Nothing to do" in invoke("20260102T040000Z-network-down-ffff", "--values", str(values)).output


def test_values_already_in_step_write_nothing(record: tuple[Path, Path], values: Path) -> None:
    make_run(record[0], RUN, [{**L1, "live": L1["was"]}])
    before = snapshot(values)
    result = invoke(RUN, "--values", str(values))
    assert result.exit_code == 0, result.output
    assert "nothing to write" in result.output
    assert "---" not in result.output
    assert snapshot(values) == before
    assert not any(name.endswith(".tmp") for name in os.listdir(values / "op-node"))
