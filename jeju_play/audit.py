"""The record you can check: hash chains over events.jsonl and approvals.jsonl, summary.json anchored to them.

Each line of events.jsonl and of approvals.jsonl carries `seq`, `prev_hash` (the previous line's hash, 64 zeros
for the first) and `hash` = sha256(prev_hash + the line's other fields as canonical JSON: sorted keys). summary.json
carries `anchor` (how many events and approvals it closes, and the hash of the last of each) and `hash` =
sha256(anchor.last_event_hash + the summary's other fields as canonical JSON). `verify_run` recomputes all of it
and names the first entry that does not match; `jeju-play audit verify` is its command.

The writer's side is here too (record.py calls it): lines are appended with one write() each and the summary is
replaced atomically (a temporary file, fsync, rename), so a crash never leaves a half-written summary.json.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jeju_play.errors import BadInput

GENESIS = "0" * 64
# The same values spelled differently (1.3333333333333332 for 1.3333333333333333, an added space): the hash of the
# parsed values still matches, the bytes do not. jeju-play writes exactly json.dumps of the values.
UNCHAINED = "has no hash and prev_hash: it is not part of a chain (written before records were chained?)"
NOT_AS_WRITTEN = "is not byte for byte what was written (the same JSON values, spelled differently): it was changed"
EVENTS = "events.jsonl"
APPROVALS = "approvals.jsonl"
SUMMARY = "summary.json"


# ---- writing ----

def jsonable(value: Any) -> Any:
    """The value as it reads back from its JSON (so that a verifier hashes exactly what the writer hashed)."""
    return json.loads(json.dumps(value, default=str))


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, default=str)


def link(prev_hash: str, body: dict[str, Any]) -> str:
    """The hash of one chained entry: sha256(previous hash + canonical JSON of the entry's own fields)."""
    return hashlib.sha256((prev_hash + canonical(body)).encode()).hexdigest()


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write(2) in O_APPEND mode. SIGKILL can still cut it short between pages:
    `verify_run` takes a torn last line of a run that never closed for its end (unfinished), not for tampering."""
    data = (line + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` by `text` all at once: write a temporary file beside it, fsync it, rename it over."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    sync(path.parent)


def sync(path: Path) -> None:
    """fsync a file or a directory when it exists (the chain files before the summary that anchors them)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def anchored(summary: dict[str, Any], events: tuple[int, str], approvals: tuple[int, str]) -> dict[str, Any]:
    """The summary with its anchor (the chains' lengths and heads) and its own hash, ready to write."""
    body = jsonable({k: v for k, v in summary.items() if k not in ("anchor", "hash")})
    body["anchor"] = {"events": events[0], "last_event_hash": events[1],
                      "approvals": approvals[0], "last_approval_hash": approvals[1]}
    return {**body, "hash": link(events[1], body)}


def rewrite_summary(folder: Path, summary: dict[str, Any]) -> None:
    """Write a run's summary.json from outside the run (e.g. to mark a killed run interrupted), anchored to the
    chains as they are on disk. Refuses a record whose chains do not verify: it would anchor a broken chain."""
    events, approvals = read_chain(folder / EVENTS), read_chain(folder / APPROVALS)
    broken = events.broken or approvals.broken
    if broken is not None:
        raise BadInput(f"{folder.name}: {broken}; the record cannot be re-anchored.")
    data = anchored(summary, (events.count, events.heads[-1]), (approvals.count, approvals.heads[-1]))
    atomic_write(folder / SUMMARY, json.dumps(data, indent=2) + "\n")


# ---- verifying ----

@dataclass(frozen=True)
class Broken:
    """The first entry that does not verify: its file, its line (when it has one) and what is wrong."""

    file: str
    line: int | None
    message: str
    unchained: bool = False  # written before records were chained: it cannot be checked, rather than changed

    def __str__(self) -> str:
        return f"{self.file}{f' line {self.line}' if self.line else ''}: {self.message}"


@dataclass(frozen=True)
class Verdict:
    run_id: str
    path: Path
    events: int
    approvals: int
    broken: Broken | None = None
    unfinished: bool = False  # the chains go on past the summary's anchor: the run never closed its record
    outcome: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "path": str(self.path), "ok": self.ok, "unfinished": self.unfinished,
                "events": self.events, "approvals": self.approvals, "outcome": self.outcome,
                "broken": None if self.broken is None else {"file": self.broken.file, "line": self.broken.line,
                                                            "message": self.broken.message,
                                                            "unchained": self.broken.unchained}}


@dataclass
class _Chain:
    heads: list[str]  # heads[k] = the hash after k entries (heads[0] = GENESIS)
    broken: Broken | None = None
    torn: Broken | None = None  # the last line is incomplete (SIGKILL can cut a write(2) short between pages)

    @property
    def count(self) -> int:
        return len(self.heads) - 1


def read_chain(path: Path) -> _Chain:
    """Walk one hash-chained JSON Lines file; stop at the first entry that does not verify."""
    chain = _Chain([GENESIS])
    if not path.exists():
        return chain
    try:
        raw = path.read_bytes()
    except OSError as exc:
        chain.broken = Broken(path.name, None, f"cannot be read: {exc.strerror or exc}")
        return chain
    complete = raw.endswith(b"\n")
    lines = raw.split(b"\n")
    lines = lines[:-1] if complete else lines
    for number, data in enumerate(lines, 1):
        last_incomplete = not complete and number == len(lines)
        digest, problem = _check_entry(data, number, chain.heads[-1], last_incomplete)
        if problem is not None and last_incomplete:
            chain.torn = Broken(path.name, number, problem)  # judged with the summary: a run still running?
            return chain
        if problem is not None:
            chain.broken = Broken(path.name, number, problem, unchained=problem == UNCHAINED)
            return chain
        chain.heads.append(str(digest))
    return chain


def _check_entry(data: bytes, number: int, previous: str, last_incomplete: bool) -> tuple[str | None, str | None]:
    """(the entry's hash, None) when it follows `previous` and matches its hash; (None, why not) otherwise."""
    torn = " (the last line is incomplete: was the run killed while writing it?)" if last_incomplete else ""
    try:
        entry = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"is not UTF-8 text{torn}"
    except ValueError:
        return None, f"is not a JSON object{torn}"
    if not isinstance(entry, dict):
        return None, "is not a JSON object"
    stored, prev = entry.pop("hash", None), entry.pop("prev_hash", None)
    if not isinstance(stored, str) or not isinstance(prev, str):
        return None, UNCHAINED
    if prev != previous:
        return None, (f"prev_hash {prev[:12]}... is not the hash of the entry before it ({previous[:12]}...): an "
                      "entry was removed, inserted or reordered")
    if link(prev, entry) != stored:
        return None, "does not match its hash: it was changed after it was written"
    if json.dumps({**entry, "prev_hash": prev, "hash": stored}).encode() != data:
        return None, NOT_AS_WRITTEN
    if entry.get("seq") != number:
        return None, f"has seq {entry.get('seq')!r} where {number} was expected"
    return stored, None


def verify_run(folder: Path) -> Verdict:
    """Check one run's record: each chain, then the summary's hash, then that the summary anchors both chains."""
    events, approvals = read_chain(folder / EVENTS), read_chain(folder / APPROVALS)
    summary, broken = _read_summary(folder / SUMMARY)
    outcome = summary.get("outcome") if isinstance(summary, dict) else None
    verdict = Verdict(folder.name, folder, events.count, approvals.count,
                      outcome=outcome if isinstance(outcome, str) else None)
    first = events.broken or approvals.broken or broken
    if first is None and outcome != "running":  # a closed record has no torn tail
        first = events.torn or approvals.torn
    if first is not None:
        return replace(verdict, broken=first)
    anchor = summary["anchor"]
    unfinished = bool(events.torn or approvals.torn)  # killed while writing its last entry, never closed
    for chain, name, count_key, head_key in ((events, EVENTS, "events", "last_event_hash"),
                                             (approvals, APPROVALS, "approvals", "last_approval_hash")):
        count, head = anchor.get(count_key), anchor.get(head_key)
        if count == chain.count and head == chain.heads[-1]:
            continue
        if (outcome == "running" and isinstance(count, int) and 0 <= count < chain.count
                and chain.heads[count] == head):
            unfinished = True  # entries after the summary was last written, and never closed
            continue
        line = (min(count, chain.count) + 1) if isinstance(count, int) and count >= 0 else None
        return replace(verdict, broken=Broken(name, line, (
            f"{SUMMARY} anchors {count} entries ending in {str(head)[:12]}..., but {name} has {chain.count} ending "
            f"in {chain.heads[-1][:12]}...: entries were removed or added after the summary was written")))
    return replace(verdict, unfinished=unfinished)


def _read_summary(path: Path) -> tuple[dict[str, Any], Broken | None]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, Broken(SUMMARY, None, "is missing: the run's summary was never written")
    except OSError as exc:
        return {}, Broken(SUMMARY, None, f"cannot be read: {exc.strerror or exc}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return {}, Broken(SUMMARY, raw[:exc.start].count(b"\n") + 1, "is not UTF-8 text")
    except json.JSONDecodeError as exc:
        return {}, Broken(SUMMARY, exc.lineno, f"is not JSON ({exc.msg})")
    if not isinstance(data, dict):
        return {}, Broken(SUMMARY, 1, "is not a JSON object")
    exact = (json.dumps(data, indent=2) + "\n").encode() == raw
    stored = data.pop("hash", None)
    anchor = data.get("anchor")
    if not isinstance(stored, str) or not isinstance(anchor, dict):
        return data, Broken(SUMMARY, None, "has no anchor and hash: recorded before records were anchored, so it "
                                           "cannot be verified", unchained=True)
    if link(str(anchor.get("last_event_hash")), data) != stored:
        return data, Broken(SUMMARY, _line_of_key(raw, "hash"), "does not match its hash: it was changed after it "
                                                                 "was written")
    if not exact:
        return data, Broken(SUMMARY, _first_difference(raw, (json.dumps({**data, "hash": stored}, indent=2) + "\n")
                                                       .encode()), NOT_AS_WRITTEN)
    return data, None


def _first_difference(a: bytes, b: bytes) -> int:
    offset = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[:offset].count(b"\n") + 1


def _line_of_key(raw: bytes, key: str) -> int | None:
    needle = f'"{key}":'.encode()
    for number, line in enumerate(raw.split(b"\n"), 1):
        if line.lstrip().startswith(needle):
            return number
    return None


def run_folder(base: Path, run_id: str) -> Path:
    """The folder of a run id, or BadInput that says where the run ids are."""
    folder = base / run_id
    try:
        found = run_id not in ("", ".", "..") and "/" not in run_id and "\x00" not in run_id and folder.is_dir()
    except (OSError, ValueError):
        found = False
    if not found:
        raise BadInput(f"No run '{run_id}' in {base}. `jeju-play history` lists the runs.")
    return folder


def run_folders(base: Path) -> list[Path]:
    """Every run's folder, oldest first (run ids start with their UTC start time)."""
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and any(
        (p / name).exists() for name in (SUMMARY, EVENTS, APPROVALS)))
