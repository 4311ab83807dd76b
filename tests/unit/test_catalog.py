"""The catalog: the real one is sound and complete; broken ones are caught with a sentence each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from jeju_play import catalog
from jeju_play.checks import main as check_main
from jeju_play.cli import command_names
from jeju_play.errors import UnknownIncident

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK_INCIDENTS = {
    "network-down", "security-breach", "batcher-failing", "proposer-stuck", "rpc-degraded",
    "sequencer-restarts", "bridge-stalled", "high-resource", "low-balance", "elevated-errors", "rollback",
    "daily-checks", "handoff",
}


def test_real_catalog_is_sound_and_lists_the_runbook() -> None:
    cat = catalog.load(ROOT)
    assert catalog.check(cat, command_names()) == []
    assert set(cat.names()) >= RUNBOOK_INCIDENTS
    for incident in cat.incidents:
        expected = {"P0": "15m", "P1": "30m"}.get(incident.severity)
        if expected:
            assert incident.update_every == expected, incident.name


def test_lookup_by_alias_and_alert() -> None:
    cat = catalog.load(ROOT)
    assert cat.get("exploit").name == "security-breach"
    assert cat.by_alert("JejuNoNewBlocks").name == "network-down"  # type: ignore[union-attr]
    with pytest.raises(UnknownIncident, match="Did you mean network-down"):
        cat.get("network-dwon")


def _broken(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(ROOT / "catalog.yml", root / "catalog.yml")
    (root / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "runbook.md", root / "docs" / "runbook.md")
    shutil.copytree(ROOT / "playbooks", root / "playbooks")
    shutil.copytree(ROOT / "monitoring", root / "monitoring")  # the alert rules name catalog incidents
    data = yaml.safe_load((root / "catalog.yml").read_text())
    mutate(root, data["incidents"])
    (root / "catalog.yml").write_text(yaml.safe_dump(data))
    return root


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda root, inc: (root / "playbooks" / "rpc-down.yml").unlink(),
         "automated but playbooks/rpc-down.yml does not exist"),
        (lambda root, inc: (root / "playbooks" / "orphan.yml").write_text("---\n[]\n"),
         "playbooks/orphan.yml has no catalog entry"),
        (lambda root, inc: inc[1].update(runbook="P0: Nowhere"), "is not a heading of docs/runbook.md"),
        (lambda root, inc: inc[2]["aliases"].append("list"), "collides with the command `jeju-play list`"),
        (lambda root, inc: inc[3]["aliases"].append("exploit"), "'exploit' names both"),
        (lambda root, inc: inc[4].update(severity="P9"), "severity P9 is not one of"),
        (lambda root, inc: inc[0].update(update_every=None), "need update_every"),
        (lambda root, inc: inc[0].update(automated=False),
         "network-down: playbooks/network-down.yml exists; mark the entry `automated: true`"),
        (lambda root, inc: inc[4].update(log_signatures=["Failed to fetch L1 block"]),
         "log signature 'Failed to fetch L1 block' is claimed by both network-down and"),
        (lambda root, inc: inc[1].update(log_signatures=["  "]), "log_signatures holds '  '; each must be"),
    ],
)
def test_broken_catalog_fails_the_check(tmp_path: Path, mutate, expected: str, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _broken(tmp_path, mutate)
    assert check_main(root) == 1
    assert expected in capsys.readouterr().err


def test_sound_copy_passes_the_check(tmp_path: Path) -> None:
    root = _broken(tmp_path, lambda root, inc: None)
    assert check_main(root) == 0
