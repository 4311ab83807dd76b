"""Drift handed back to GitOps: the live changes a run recorded in `artifacts/drift.yml`, written into the values.

A remediation run that changes the cluster by hand (a backup L1 RPC, more replicas, a rate limit) records each change
the GitOps values must follow: the values file, the dotted key in it, the value before and the value now live. Until
the values say the same, the next sync reverts the fix. `jeju-play drift ID --values DIR` edits DIR at those keys:

    collect(run_dirs)       the entries of the runs, in order; a later one for the same file and key wins
    plan(entries, dir)      pure: the new text of every values file and its diff; every check before anything is written
    apply(changes)          each changed file replaced at once (temporary file + os.replace)

The files are edited as round-trip YAML (ruamel.yaml): comments, key order, quoting and indentation stay as found, and
the new text keeps every line of the old one that the change does not touch.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import os
import tempfile
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from jeju_play import yamlio
from jeju_play.errors import BadInput, JejuPlayError

DRIFT_FILE = Path("artifacts") / "drift.yml"
# Under these keys the rest of a dotted key is one key (label and annotation names hold dots).
_NAME_MAPS = frozenset({"annotations", "labels", "podAnnotations", "podLabels", "commonLabels", "matchLabels",
                        "nodeSelector"})
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}
_QUOTED = (DoubleQuotedScalarString, SingleQuotedScalarString)
_DEFAULT_INDENT = (2, 2, 0)  # mapping, sequence, offset (the dash's indent under its key)
_WIDTH = 80


@dataclass(frozen=True)
class DriftEntry:
    """One live change the GitOps values must follow: `key` in the values file `file` was `was` and is `live`."""

    file: str  # relative to the GitOps values tree
    key: str  # a dotted path in that file (resolved greedily: label and annotation names hold dots)
    was: Any
    live: Any
    object: str = ""
    reason: str = ""
    applied: bool = True  # False: a check-mode run; nothing was changed live
    runs: tuple[str, ...] = ()  # the runs that made the change (more than one when later runs changed it again)
    between: tuple[Any, ...] = ()  # what later runs saw before their change (the values may hold any of these)


@dataclass(frozen=True)
class Edit:
    """What one entry does to its values file."""

    entry: DriftEntry
    found: Any  # what the values file held at the key (plain Python); None when absent
    present: bool  # the file has the key
    changed: bool  # False: the file already holds the live value
    warning: str | None = None


@dataclass(frozen=True)
class FileChange:
    """The new text of one values file, and its diff against the old (empty when nothing changes)."""

    path: Path
    relpath: str  # relative to the values tree, with "/" (as in drift.yml)
    old_text: str | None  # None: the file does not exist yet
    new_text: str
    diff: str
    edits: tuple[Edit, ...]
    notes: tuple[str, ...] = ()
    crlf: bool = False  # the file's lines end with CR LF (written back so)
    mode: int | None = field(default=None, compare=False)

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text


# -- collect -----------------------------------------------------------------------------------------------------


def collect(run_dirs: Sequence[Path]) -> list[DriftEntry]:
    """The drift entries of the runs, in the order they first appear.

    A later applied entry for the same file and key wins (its live value, object and reason), keeping what the first
    run saw before (the values file may hold that or what any later run saw). Entries of check-mode runs (applied:
    false) are kept only for a file and key no applied entry changed.
    """
    applied: dict[tuple[str, str], DriftEntry] = {}
    skipped: dict[tuple[str, str], DriftEntry] = {}
    order: list[tuple[str, str]] = []
    for run_dir in run_dirs:
        for entry in _read_drift(run_dir):
            slot = (entry.file, entry.key)
            if slot not in order:
                order.append(slot)
            if not entry.applied:
                skipped[slot] = entry
                continue
            prior = applied.get(slot)
            if prior is None:
                applied[slot] = entry
            else:
                applied[slot] = replace(entry, was=prior.was, runs=prior.runs + entry.runs,
                                        between=(*prior.between, entry.was))
    return [applied.get(slot) or skipped[slot] for slot in order]


def _read_drift(run_dir: Path) -> list[DriftEntry]:
    path = run_dir / DRIFT_FILE
    if not path.is_file():
        return []
    fix = "Fix or move that file aside and try again."
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError) as exc:
        raise BadInput(f"Cannot read the drift record {path}: {_first_line(exc)}. {fix}") from exc
    if data is None:
        return []
    items = data.get("drift") if isinstance(data, dict) else data
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadInput(f"{path} does not hold a list under 'drift'. {fix}")
    entries = []
    for number, item in enumerate(items, 1):
        where = f"{path}, entry {number}"
        if not isinstance(item, dict):
            raise BadInput(f"{where} is not a mapping. {fix}")
        for name in ("file", "key"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                raise BadInput(f"{where} has no '{name}' (a non-empty string). {fix}")
        if "live" not in item:
            raise BadInput(f"{where} has no 'live' value. {fix}")
        entries.append(DriftEntry(
            file=PurePosixPath(item["file"].strip()).as_posix(), key=item["key"].strip(), was=item.get("was"),
            live=item["live"], object=str(item.get("object") or ""), reason=str(item.get("reason") or ""),
            applied=_truthy(item.get("applied", True)), runs=(run_dir.name,)))
    return entries


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return _BOOLS.get(value.strip().lower(), True)
    return bool(value)


# -- plan --------------------------------------------------------------------------------------------------------


def plan(entries: Iterable[DriftEntry], values_dir: Path) -> list[FileChange]:
    """The change to every values file the applied entries name, in order of first mention. Writes nothing.

    Raises BadInput, before anything is written, for a values tree that is not a directory, an entry whose file is
    outside it, and a values file that cannot be read or is not a YAML mapping.
    """
    if not values_dir.is_dir():
        raise BadInput(f"--values {values_dir} is not a directory. Give the root of the GitOps values tree (the "
                       "checkout the drift's files, such as op-node/values.yaml, are relative to).")
    by_file: dict[str, list[DriftEntry]] = {}
    for entry in entries:
        if entry.applied:
            by_file.setdefault(entry.file, []).append(entry)
    return [_plan_file(values_dir, relpath, group) for relpath, group in by_file.items()]


def _target(values_dir: Path, relpath: str, entry: DriftEntry) -> Path:
    pure = PurePosixPath(relpath)
    refuse = (f"The drift of run {', '.join(entry.runs) or '?'} names the file '{relpath}' ({entry.key}), which is "
              f"outside the values tree {values_dir}. Nothing was written; make that change by hand.")
    if pure.is_absolute() or ".." in pure.parts or "\\" in relpath or not pure.parts:
        raise BadInput(refuse)
    target = values_dir / pure
    if not target.resolve().is_relative_to(values_dir.resolve()):
        raise BadInput(refuse)  # a symbolic link that leads out of the tree
    return target


def _plan_file(values_dir: Path, relpath: str, entries: list[DriftEntry]) -> FileChange:
    path = _target(values_dir, relpath, entries[0])
    for entry in entries[1:]:
        _target(values_dir, relpath, entry)
    old_text, crlf, mode = _read_values(path, relpath)
    text = (old_text or "").replace("\r\n", "\n")
    yaml = _yaml(text)
    doc = _parse(yaml, text, relpath)
    base = _dump(yaml, doc) if doc is not None else ""
    root = doc if doc is not None else CommentedMap()
    edits = tuple(_edit(root, entry, yaml, relpath, exists=old_text is not None) for entry in entries)
    notes: list[str] = []
    if old_text is not None and not any(edit.changed for edit in edits):
        new_text = old_text
    else:
        full = _dump(yaml, root)
        spliced = _splice(text, base, full)
        if spliced is not None and _same_data(yaml, spliced, full):
            new_text = spliced
        else:
            new_text = full
            if old_text is not None:
                notes.append(f"{relpath} is written whole by ruamel.yaml (the change falls on lines it lays out its "
                             "own way): check the diff.")
        if crlf:
            new_text = new_text.replace("\n", "\r\n")
    return FileChange(path=path, relpath=relpath, old_text=old_text, new_text=new_text,
                      diff=_diff(relpath, old_text, new_text), edits=edits, notes=tuple(notes), crlf=crlf, mode=mode)


def _read_values(path: Path, relpath: str) -> tuple[str | None, bool, int | None]:
    if not path.exists() and not path.is_symlink():
        return None, False, None
    if not path.is_file():
        raise BadInput(f"{path} ({relpath} in the values tree) is not a file. Check --values and the drift's paths.")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        mode = path.stat().st_mode & 0o7777
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"Cannot read the values file {path}: {_first_line(exc)}. Fix it (UTF-8 YAML) and try "
                       "again.") from exc
    return text, "\r\n" in text, mode


def _yaml(text: str) -> YAML:
    """A round-trip YAML that writes back as the file is written: its indentation, its quotes, no line wrapping."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, sequence, offset = _indents(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    yaml.explicit_start = first.rstrip() == "---" or first.startswith("--- ")
    return yaml


def _indents(text: str) -> tuple[int, int, int]:
    """The file's mapping indent, sequence indent and dash offset (the most frequent), or 2/2/0."""
    try:
        node = YAML(typ="rt").compose(text) if text.strip() else None
    except (YAMLError, ValueError):
        return _DEFAULT_INDENT
    mappings: Counter[int] = Counter()
    sequences: Counter[tuple[int, int]] = Counter()
    stack: list[Node] = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            for key, value in current.value:
                stack.append(value)
                if getattr(value, "flow_style", None) or value.start_mark.line <= key.start_mark.line:
                    continue
                if isinstance(value, MappingNode):
                    mappings[value.start_mark.column - key.start_mark.column] += 1
                elif isinstance(value, SequenceNode) and value.value:
                    item = value.value[0]
                    if not isinstance(item, SequenceNode) and item.start_mark.line == value.start_mark.line:
                        sequences[(item.start_mark.column - key.start_mark.column,
                                   value.start_mark.column - key.start_mark.column)] += 1
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
    mapping = mappings.most_common(1)[0][0] if mappings else _DEFAULT_INDENT[0]
    sequence, offset = sequences.most_common(1)[0][0] if sequences else _DEFAULT_INDENT[1:]
    mapping = max(mapping, 1)
    offset = max(offset, 0)
    return mapping, max(sequence, offset + 2), offset


def _parse(yaml: YAML, text: str, relpath: str) -> CommentedMap | None:
    what = f"The values file {relpath}"
    try:
        docs = list(yaml.load_all(text))
    except (YAMLError, ValueError) as exc:
        raise BadInput(f"{what} is not valid YAML: {_first_line(exc)}. Fix it and try again.") from exc
    docs = [doc for doc in docs if doc is not None] if len(docs) > 1 else docs
    if len(docs) > 1:
        raise BadInput(f"{what} holds {len(docs)} YAML documents; drift edits files of one document. Make the "
                       "change by hand.")
    doc = docs[0] if docs else None
    if doc is not None and not isinstance(doc, CommentedMap):
        raise BadInput(f"{what} is not a YAML mapping (it holds a {_kind(doc)}). Fix it and try again.")
    return doc


def _dump(yaml: YAML, doc: Any) -> str:
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue()


# -- one entry ---------------------------------------------------------------------------------------------------


@dataclass
class _Spot:
    """Where an entry's key is: the mapping, the key in it, whether it is there, and the new mappings to add."""

    mapping: CommentedMap
    key: str
    present: bool
    graft: tuple[CommentedMap, str, CommentedMap] | None = None  # (parent, key, new mapping): added after the value


def _edit(root: CommentedMap, entry: DriftEntry, yaml: YAML, relpath: str, *, exists: bool) -> Edit:
    spot = _locate(root, entry, relpath)
    current = spot.mapping[spot.key] if spot.present else None
    found = _plain(current)
    new = _coerce(entry.live, current, spot.mapping, spot.key)
    warning: str | None = None
    if not exists:
        warning = f"the values tree had no {relpath}: created it (check the path)"
    elif not spot.present:
        if not _empty(entry.was):
            warning = f"values had no {entry.key}, the run saw {show(entry.was)} before its change"
    elif not any(_matches(found, was) for was in (entry.was, *entry.between)):
        warning = f"values had {show(found)}, the run saw {show(entry.was)} before its change"
    plain_new = _plain(new)
    if spot.present and isinstance(found, dict | list) and not isinstance(plain_new, dict | list):
        warning = "; ".join(part for part in (warning, f"the {_kind(found)} there is replaced by a {_kind(new)}: "
                                              "check that the chart reads it so") if part)
    changed = not spot.present or plain_new != found or type(plain_new) is not type(found)
    if changed:
        _assign(spot, new, yaml)
    return Edit(entry=entry, found=found, present=spot.present, changed=changed, warning=warning)


def _locate(root: CommentedMap, entry: DriftEntry, relpath: str) -> _Spot:
    """The mapping that holds the entry's key, the key in it, and whether it is there (else the mappings to add).

    At each level the longest run of the remaining segments joined by "." that is an existing key wins (so that
    `metadata.annotations.nginx.ingress.kubernetes.io/limit-rps` finds the annotation). When nothing matches, one
    segment is one level, except under annotations and labels, where the rest is one key.
    """
    segments = entry.key.split(".")
    if any(not segment for segment in segments):
        raise BadInput(f"The drift key '{entry.key}' for {relpath} (run {', '.join(entry.runs)}) has an empty part. "
                       "Make that change by hand.")
    mapping, name = root, ""
    while (step := _longest(mapping, segments, entry, relpath)) is not None:
        taken, key = step
        if taken == len(segments):
            return _Spot(mapping, key, present=True)
        if mapping[key] is None:
            mapping[key] = CommentedMap()
        mapping, name, segments = mapping[key], key, segments[taken:]
    graft = None
    while name not in _NAME_MAPS and len(segments) > 1:
        child = CommentedMap()
        if graft is None:
            graft = (mapping, segments[0], child)
        else:
            mapping[segments[0]] = child
        mapping, name, segments = child, segments[0], segments[1:]
    return _Spot(mapping, ".".join(segments), present=False, graft=graft)


def _longest(mapping: CommentedMap, segments: list[str], entry: DriftEntry, relpath: str) -> tuple[int, str] | None:
    blocked = None
    for taken in range(len(segments), 0, -1):
        key = ".".join(segments[:taken])
        if key not in mapping:
            continue
        if taken == len(segments) or mapping[key] is None or isinstance(mapping[key], CommentedMap):
            return taken, key
        blocked = blocked or key
    if blocked is not None:
        raise BadInput(f"{relpath}: '{blocked}' holds a {_kind(mapping[blocked])}, not a mapping, so the drift key "
                       f"'{entry.key}' (run {', '.join(entry.runs)}) cannot be set. Make that change by hand.")
    return None


def _coerce(live: Any, current: Any, parent: CommentedMap, key: str) -> Any:
    """The live value in the type the values file has at the key (Jinja renders "3", "True", dicts as text)."""
    if isinstance(current, bool):
        if isinstance(live, str) and live.strip().lower() in _BOOLS:
            return _BOOLS[live.strip().lower()]
    elif isinstance(current, int):
        number = _number(live) if isinstance(live, str) else live
        if isinstance(number, float) and number.is_integer():
            return int(number)
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    elif isinstance(current, float):
        number = _number(live) if isinstance(live, str) else live
        if isinstance(number, int | float) and not isinstance(number, bool):
            return float(number)
    elif isinstance(current, str):
        text = _scalar_text(live) if isinstance(live, bool | int | float) else live
        if isinstance(text, str) and isinstance(current, _QUOTED):
            return type(current)(text)
        return _to_yaml(text)
    elif isinstance(current, dict | list) and isinstance(live, str):
        parsed = _literal(live)
        if isinstance(parsed, dict if isinstance(current, dict) else list):
            return _to_yaml(parsed)
    elif current is None and isinstance(live, str) and key not in parent and not isinstance(_literal(live), str):
        styles = {type(value) for value in parent.values() if isinstance(value, _QUOTED)}
        if len(styles) == 1:
            return styles.pop()(live)  # a new key's "50" quoted as its siblings are
    return _to_yaml(live)


def _number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            continue
    return None


def _assign(spot: _Spot, new: Any, yaml: YAML) -> None:
    if not spot.present:
        if spot.graft is None:
            _append(spot.mapping, spot.key, new)
        else:
            spot.mapping[spot.key] = new
            _append(*spot.graft)
        return
    old = spot.mapping[spot.key]
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for name in [name for name in old if name not in new]:
            del old[name]
        for name, value in new.items():
            old[name] = _coerce(value, old[name], old, name) if name in old else _to_yaml(value)
        return
    spot.mapping[spot.key] = new
    _keep_comment_gap(spot.mapping, spot.key, yaml)


def _append(parent: CommentedMap, key: str, value: Any) -> None:
    """A new last key. The comment lines after the old last line that are less indented than the parent's keys (or
    follow a blank line) belong to what comes after the mapping: they move after the new key."""
    column = _key_column(parent)
    tail = _last_entry(parent)
    parent[key] = value
    if tail is None or column is None:
        return
    holder, last = tail
    items = holder.ca.items.get(last)
    token = items[2] if items and len(items) > 2 else None
    if token is None or "\n" not in token.value:
        return
    first, _, rest = token.value.partition("\n")
    lines = rest.splitlines(keepends=True)
    keep = 0
    while keep < len(lines) and lines[keep].strip() and len(lines[keep]) - len(lines[keep].lstrip(" ")) >= column:
        keep += 1
    if keep == len(lines):
        return
    token.value = first + "\n" + "".join(lines[:keep])
    new_holder, new_last = _last_entry(parent) or (parent, key)
    slots = new_holder.ca.items.setdefault(new_last, [None, None, None, None])
    slots[2] = CommentToken("\n" + "".join(lines[keep:]), CommentMark(0), None)


def _key_column(mapping: CommentedMap) -> int | None:
    """The column of a loaded mapping's keys (None for a mapping made here)."""
    try:
        return int(mapping.lc.key(next(iter(mapping)))[1]) if mapping else None
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _last_entry(mapping: CommentedMap) -> tuple[CommentedMap, str] | None:
    """The deepest last key of a mapping (where ruamel.yaml keeps the comments after the mapping's last line)."""
    if not mapping:
        return None
    holder, last = mapping, list(mapping)[-1]
    while isinstance(holder[last], CommentedMap) and holder[last] and holder[last].fa.flow_style() is not True:
        holder = holder[last]
        last = list(holder)[-1]
    return holder, last


def _keep_comment_gap(parent: CommentedMap, key: str, yaml: YAML) -> None:
    """At least two spaces between a longer new value and its end-of-line comment (as yamllint wants)."""
    items = parent.ca.items.get(key)
    token = items[2] if items and len(items) > 2 else None
    if token is None or not token.value.lstrip(" ").startswith("#") or token.start_mark is None:
        return
    try:
        key_column = parent.lc.key(key)[1]
    except (AttributeError, KeyError, TypeError):
        return
    probe = CommentedMap()
    probe[key] = parent[key]
    line = _dump(yaml, probe).removeprefix("---\n")
    if line.count("\n") != 1:
        return
    end = key_column + len(line.rstrip("\n"))
    token.start_mark.column = max(token.start_mark.column, end + 2)


# -- values and their types --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """ruamel.yaml's round-trip types as plain Python (for comparison and display)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _to_yaml(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap()
        for k, v in value.items():
            mapping[k] = _to_yaml(v)
        return mapping
    if isinstance(value, list):
        return CommentedSeq(_to_yaml(v) for v in value)
    return value


def _literal(text: str) -> Any:
    """A dict or list Jinja rendered as text: Python's repr ({'app': 'reth'}) or YAML/JSON flow."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        return yamlio.load(text)
    except yamlio.YAMLError:
        return text


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    text = str(value).strip()
    return text.lower() if text.lower() in ("true", "false") else text


def _matches(found: Any, was: Any) -> bool:
    """Whether the values file holds what the run saw before its change (text from Jinja compares by meaning)."""
    if _empty(was):
        return _empty(found)
    if isinstance(found, dict | list):
        return bool(_plain(_literal(was) if isinstance(was, str) else was) == found)
    if isinstance(was, dict | list):
        return False
    if _scalar_text(found) == _scalar_text(was):
        return True
    try:
        return float(_scalar_text(found)) == float(_scalar_text(was))
    except ValueError:
        return False


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(_plain(value)), "value")


def show(value: Any) -> str:
    """A value as the summary shows it: text as is, numbers and booleans as YAML writes them, dicts as JSON."""
    value = _plain(value)
    if value is None:
        return "(nothing)"
    if isinstance(value, str):
        return value if value.strip() else json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# -- texts and diffs ---------------------------------------------------------------------------------------------


def _splice(original: str, base: str, new: str) -> str | None:
    """The original text with only the lines the change touches replaced.

    `base` is the unchanged document as ruamel.yaml writes it, `new` the changed one: where they differ, and the base
    lines there stand for lines of the original (the same, or as many rewritten one for one), the original takes the
    new lines. None when a change cannot be placed so (the caller then uses `new` whole).
    """
    missing_newline = bool(original) and not original.endswith("\n")
    ours = (original + "\n" if missing_newline else original).splitlines(keepends=True)
    theirs = base.splitlines(keepends=True)
    final = new.splitlines(keepends=True)
    to_ours: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):  # a line ruamel.yaml writes its own way
            to_ours.update({j1 + k: i1 + k for k in range(i2 - i1)})
    edits: list[tuple[int, int, list[str]]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, theirs, final, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            start = to_ours.get(i1)
            if start is None or any(to_ours.get(i) != start + i - i1 for i in range(i1, i2)):
                return None
            end = start + i2 - i1
        elif not theirs:
            start = end = len(ours)
        elif i1 > 0 and i1 - 1 in to_ours:
            start = end = to_ours[i1 - 1] + 1
        elif i1 in to_ours:
            start = end = to_ours[i1]
        else:
            return None
        edits.append((start, end, final[j1:j2]))
    last = ours[-1] if ours else ""
    for start, end, lines in reversed(edits):
        ours[start:end] = lines
    text = "".join(ours)
    if missing_newline and ours and ours[-1] == last:
        text = text[:-1]
    return text


def _same_data(yaml: YAML, text: str, expected: str) -> bool:
    try:
        return bool(_plain(yaml.load(text)) == _plain(yaml.load(expected)))
    except (YAMLError, ValueError):
        return False


def _diff(relpath: str, old: str | None, new: str) -> str:
    if old == new:
        return ""
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{relpath}" if old is not None else "/dev/null", tofile=f"b/{relpath}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


# -- apply -------------------------------------------------------------------------------------------------------


def apply(changes: Iterable[FileChange]) -> list[Path]:
    """Write every changed file, each at once; first check that none changed since it was planned."""
    pending = [change for change in changes if change.changed]
    for change in pending:
        try:
            now: str | None = change.path.read_bytes().decode("utf-8") if change.path.exists() else None
        except (OSError, UnicodeDecodeError):
            now = ""
        if now != change.old_text:
            raise BadInput(f"{change.path} changed while drift was planned; nothing was written. Run it again.")
    written: list[FileChange] = []
    for change in pending:
        try:
            change.path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(change.path, change.new_text, change.mode)
        except OSError as exc:
            done = ", ".join(done.relpath for done in written) or "none"
            raise JejuPlayError(f"Cannot write {change.path}: {_first_line(exc)}. Written before it: {done}; the "
                                "others are as they were. Fix that and run drift again.") from exc
        written.append(change)
    return [change.path for change in written]


def _atomic_write(path: Path, text: str, mode: int | None) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the summary -------------------------------------------------------------------------------------------------


def summary(entries: Sequence[DriftEntry], changes: Sequence[FileChange], *, width: int = _WIDTH,
            with_runs: bool = False) -> list[str]:
    """One wrapped line per entry (file, key, was -> live, the object and the reason), its warning under it."""
    edits = {(edit.entry.file, edit.entry.key): edit for change in changes for edit in change.edits}
    lines: list[str] = []
    for entry in entries:
        edit = edits.get((entry.file, entry.key))
        was = "(not set)" if _empty(entry.was) else show(entry.was)
        head = f"{entry.file} {entry.key}: {was} -> {show(entry.live)}"
        why = ": ".join(part for part in (entry.object, entry.reason) if part)
        if with_runs and entry.runs:
            why = "; ".join(part for part in (why, f"run {', '.join(entry.runs)}") if part)
        if not entry.applied:
            head += ": not applied live (check mode): skipped"
        elif edit is not None and not edit.changed:
            head += ": the values already hold it"
        text = f"{head} ({why})" if why else head
        lines.extend(_wrap(f"- {text}", width))
        if edit is not None and edit.warning:
            lines.extend(_wrap(f"  warning: {edit.warning}", width))
    for change in changes:
        for note in change.notes:
            lines.extend(_wrap(f"- note: {note}", width))
    return lines


def _wrap(text: str, width: int) -> list[str]:
    indent = "    " if text.startswith("  ") else "  "
    return textwrap.wrap(text, width=max(width, 40), subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [text]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]


