"""Issue 12 part 4: a record you can check. `jeju-play audit verify` recomputes the hash chains of events.jsonl and
approvals.jsonl and the summary's anchor; one flipped byte anywhere is found, in the file and on the line it is in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jeju_play import audit
from jeju_play.record import RunRecord, Scrubber, Summary
from tests.support import recorded_runs, run_cli

SECRET = "s3cr3t-value-never-written"


def make_record(base: Path, run_id: str = "20260101T000000Z-demo-0001", *, events: int = 6, approvals: int = 2,
                close: bool = True) -> Path:
    record = RunRecord(run_id, Scrubber([SECRET]), base=base)
    summary = Summary(run_id=run_id, incident="demo", environment="lab", inventory="/x", playbook="p.yml",
                      who="tester", started="2026-01-01T00:00:00.000Z", check_mode=False)
    record.write_summary(summary)
    for number in range(events):
        record.append_event({"time": f"2026-01-01T00:00:{number:02d}Z", "event": "runner_on_ok", "phase": "diagnose",
                             "task": f"Read the chain é {number}", "res": {"value": number / 3, "key": SECRET}})
        if number < approvals:
            record.append_approval({"run_id": run_id, "task": "Restart op-node", "decision": "approved",
                                    "answer": {"how": "--yes", "who": "tester"}})
    if close:
        summary.outcome, summary.exit_code, summary.ended = "verified", 0, "2026-01-01T00:01:00.000Z"
        record.write_summary(summary)
    return record.dir


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_clean_record_verifies(tmp_path: Path) -> None:
    folder = make_record(tmp_path)
    verdict = audit.verify_run(folder)
    assert verdict.ok and not verdict.unfinished, verdict
    assert (verdict.events, verdict.approvals, verdict.outcome) == (6, 2, "verified")
    summary = json.loads((folder / "summary.json").read_text())
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    approvals = [json.loads(line) for line in (folder / "approvals.jsonl").read_text().splitlines()]
    assert summary["anchor"] == {"events": 6, "last_event_hash": events[-1]["hash"],
                                 "approvals": 2, "last_approval_hash": approvals[-1]["hash"]}
    assert [a["seq"] for a in approvals] == [1, 2] and approvals[1]["prev_hash"] == approvals[0]["hash"]
    assert SECRET not in "".join(p.read_text() for p in folder.iterdir() if p.is_file())


@pytest.mark.parametrize("name", ["events.jsonl", "approvals.jsonl", "summary.json"])
def test_every_flipped_byte_is_found_in_its_file_and_line(tmp_path: Path, name: str) -> None:
    folder = make_record(tmp_path)
    path = folder / name
    original = path.read_bytes()
    for offset in range(len(original)):
        flip(path, offset)
        verdict = audit.verify_run(folder)
        assert verdict.broken is not None, (name, offset)
        assert verdict.broken.file == name, (offset, verdict.broken)
        if name.endswith(".jsonl"):
            assert verdict.broken.line == original[:offset].count(b"\n") + 1, (offset, verdict.broken)
        path.write_bytes(original)
    assert audit.verify_run(folder).ok


def test_a_removed_last_event_is_found(tmp_path: Path) -> None:
    folder = make_record(tmp_path)
    path = folder / "events.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    broken = audit.verify_run(folder).broken
    assert broken is not None and (broken.file, broken.line) == ("events.jsonl", 6)
    assert "summary.json anchors 6 entries" in broken.message and "has 5" in broken.message


def test_a_removed_approval_is_found_where_it_was(tmp_path: Path) -> None:
    folder = make_record(tmp_path, approvals=3)
    path = folder / "approvals.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2])
    broken = audit.verify_run(folder).broken
    assert broken is not None and (broken.file, broken.line) == ("approvals.jsonl", 2)
    assert "was removed, inserted or reordered" in broken.message


def test_a_torn_last_line_says_so(tmp_path: Path) -> None:
    folder = make_record(tmp_path)
    with (folder / "events.jsonl").open("a") as handle:
        handle.write('{"seq": 7, "event": "runner_on_o')
    broken = audit.verify_run(folder).broken
    assert broken is not None and (broken.file, broken.line) == ("events.jsonl", 7)
    assert "last line is incomplete" in broken.message


def test_a_run_killed_while_writing_its_last_entry_is_unfinished_not_broken(tmp_path: Path) -> None:
    """SIGKILL can cut a write(2) short between pages: a torn last line of a run that never closed is its end."""
    folder = make_record(tmp_path, close=False)
    with (folder / "events.jsonl").open("a") as handle:
        handle.write('{"seq": 7, "event": "runner_on_o')
    verdict = audit.verify_run(folder)
    assert verdict.ok and verdict.unfinished and verdict.events == 6


def test_a_record_left_running_is_intact_but_unfinished(tmp_path: Path) -> None:
    folder = make_record(tmp_path, close=False)  # summary written at the start, events after it, never closed
    verdict = audit.verify_run(folder)
    assert verdict.ok and verdict.unfinished and verdict.outcome == "running"


def test_a_closed_record_with_an_extra_event_is_broken(tmp_path: Path) -> None:
    folder = make_record(tmp_path)
    # an event appended after the summary closed the record, chained correctly
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    body = {"seq": 7, "event": "forged"}
    line = json.dumps({**body, "prev_hash": events[-1]["hash"], "hash": audit.link(events[-1]["hash"], body)})
    audit.append_line(folder / "events.jsonl", line)
    broken = audit.verify_run(folder).broken
    assert broken is not None and (broken.file, broken.line) == ("events.jsonl", 7)


def test_a_record_from_before_anchoring_cannot_be_verified(tmp_path: Path) -> None:
    folder = tmp_path / "20250101T000000Z-old-0000"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"run_id": folder.name, "outcome": "verified"}))
    broken = audit.verify_run(folder).broken
    assert broken is not None and broken.file == "summary.json" and "cannot be verified" in broken.message
    assert broken.unchained


def test_a_missing_summary_is_broken(tmp_path: Path) -> None:
    folder = make_record(tmp_path)
    (folder / "summary.json").unlink()
    broken = audit.verify_run(folder).broken
    assert broken is not None and broken.file == "summary.json" and "never written" in broken.message


def test_a_crash_while_writing_the_summary_leaves_the_previous_one(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_record(tmp_path)
    before = (folder / "summary.json").read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    record = RunRecord("20260101T000000Z-demo-0002", Scrubber([]), base=tmp_path)
    with pytest.raises(OSError):
        record.write_summary(Summary(run_id="x", incident="demo", environment="lab", inventory="/x",
                                     playbook="p.yml", who="t", started="s", check_mode=False))
    assert not (record.dir / "summary.json").exists()
    assert (folder / "summary.json").read_bytes() == before


WRITER = """
import sys
from pathlib import Path
from jeju_play.record import RunRecord, Scrubber, Summary
record = RunRecord(sys.argv[2], Scrubber([]), base=Path(sys.argv[1]))
summary = Summary(run_id=sys.argv[2], incident="demo", environment="lab", inventory="/x", playbook="p.yml",
                  who="t", started="s", check_mode=False)
print("ready", flush=True)
n = 0
while True:
    n += 1
    record.append_event({"event": "runner_on_ok", "n": n, "res": {"stdout": "x" * 2000}})
    summary.tried = [f"step {i}" for i in range(n % 400)]  # a summary of a few KiB, rewritten each time
    record.write_summary(summary)
"""


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.45])
def test_sigkill_never_leaves_a_half_written_record(tmp_path: Path, delay: float) -> None:
    run_id = f"20260101T000000Z-crash-{int(delay * 100):04d}"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), run_id], stdout=subprocess.PIPE,
                              text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    folder = tmp_path / run_id
    json.loads((folder / "summary.json").read_text())  # whole, never half-written
    verdict = audit.verify_run(folder)
    assert verdict.ok, verdict.broken
    assert verdict.unfinished or verdict.events > 0
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] in ([], [f".summary.json.{writer.pid}.tmp"])


def test_audit_verify_through_the_installed_script(tmp_path: Path, runs_dir: Path) -> None:
    good = make_record(runs_dir, "20260101T000000Z-demo-0001")
    bad = make_record(runs_dir, "20260101T000001Z-demo-0002")
    old = runs_dir / "20250101T000000Z-old-0000"
    old.mkdir()
    (old / "summary.json").write_text(json.dumps({"run_id": old.name, "outcome": "verified"}))
    flip(bad / "approvals.jsonl", 40)
    one = run_cli("audit", "verify", good.name)
    assert one.returncode == 0
    assert f"intact  {good.name}: 6 events, 2 approvals, summary anchored (verified)" in one.stdout
    every = run_cli("audit", "verify", "--all")
    assert every.returncode == 1
    assert f"BROKEN  {bad.name}: approvals.jsonl line 1:" in every.stdout and f"intact  {good.name}" in every.stdout
    assert f"UNCHAINED  {old.name}: summary.json: has no anchor" in every.stdout
    as_json = json.loads(run_cli("audit", "verify", "--all", "--json").stdout)
    assert [(v["run_id"], v["ok"], (v["broken"] or {}).get("file")) for v in as_json] == [
        (old.name, False, "summary.json"), (good.name, True, None), (bad.name, False, "approvals.jsonl")]
    for argv in (["audit", "verify"], ["audit", "verify", "nosuch"], ["audit", "verify", "../x"]):
        result = run_cli(*argv)
        assert result.returncode == 2 and "Traceback" not in result.stderr, argv


def test_a_real_run_verifies_and_a_flipped_byte_in_each_file_fails_there(project: Path, runs_dir: Path) -> None:
    assert run_cli("demo", "-i", "lab", "--yes").returncode == 0
    (run,) = recorded_runs(runs_dir)
    clean = run_cli("audit", "verify", run.name)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    verdict = audit.verify_run(run)
    assert verdict.ok and verdict.events > 5 and verdict.approvals == 1 and verdict.outcome == "verified"
    for name in ("events.jsonl", "approvals.jsonl", "summary.json"):
        path = run / name
        original = path.read_bytes()
        offset = len(original) // 2
        flip(path, offset)
        result = run_cli("audit", "verify", run.name)
        assert result.returncode == 1, name
        line = original[:offset].count(b"\n") + 1
        where = f"{name} line {line}:" if name.endswith(".jsonl") else f"{name}"
        assert f"BROKEN  {run.name}: {where}" in result.stdout, result.stdout
        path.write_bytes(original)
    assert run_cli("audit", "verify", "--all").returncode == 0


def test_a_killed_run_can_be_marked_interrupted_and_still_verify(tmp_path: Path) -> None:
    folder = make_record(tmp_path, close=False)
    summary = json.loads((folder / "summary.json").read_text())
    audit.rewrite_summary(folder, {**summary, "outcome": "interrupted", "exit_code": 1})
    verdict = audit.verify_run(folder)
    assert verdict.ok and not verdict.unfinished and verdict.outcome == "interrupted"
    flip(folder / "events.jsonl", 10)
    with pytest.raises(audit.BadInput, match="cannot be re-anchored"):
        audit.rewrite_summary(folder, summary)
