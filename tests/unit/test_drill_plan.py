"""The drill holds the plan to the run by the first round's cause each one wrote (artifacts/classification)."""

from __future__ import annotations

from pathlib import Path

from jeju_play.drill import first_cause


def test_first_cause_is_the_classification_s_first_line_or_none(tmp_path: Path) -> None:
    record = tmp_path / "run"
    assert first_cause(record) is None  # a run that ended before Decide (a guard refused it)
    (record / "artifacts").mkdir(parents=True)
    (record / "artifacts" / "classification").write_text("disk_full\nreth's disk is full\n", encoding="utf-8")
    (record / "artifacts" / "classification-round-2").write_text("rate_limited\n", encoding="utf-8")
    assert first_cause(record) == "disk_full"
    (record / "artifacts" / "classification").write_text("", encoding="utf-8")
    assert first_cause(record) is None
