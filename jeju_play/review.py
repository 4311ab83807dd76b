"""Only reviewed content on production: "playbook changes are reviewed through Git", checked at run time.

Before a run that may change a production environment takes its lock, the runner reads the project's content
state: the commit it runs from, uncommitted changes (and untracked files) under the reviewed paths, whether
the commit is on the reviewed branch (merged after review; `jeju_review.branch`, origin/main by default), and,
when the project carries an ansible-sign signature (.ansible-sign/, as AWX projects are signed), whether it
verifies. Any problem refuses the run (exit 4, recorded, nothing changed) unless `--unreviewed` is given and
approved at an extra gate (the production name typed, or --yes-i-mean). Every run's record holds the state;
check-mode runs and other environments are never refused by it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jeju_play.environments import Environment
from jeju_play.errors import Refused
from jeju_play.gates import GATE_UNREVIEWED

REVIEWED_PATHS = ("playbooks", "roles", "plugins", "catalog.yml", "inventories")
DEFAULT_BRANCH = "origin/main"
SIGNATURE_DIR = ".ansible-sign"
SIGNATURE_FILE = "sha256sum.txt.sig"
UNREVIEWED_GATE = "unreviewed-content"
_GIT_TIMEOUT = 20


@dataclass(frozen=True)
class Settings:
    """The inventory's `jeju_review`: what counts as reviewed."""

    branch: str = DEFAULT_BRANCH
    keyring: str = ""  # gpg keyring with the signers' public keys ("" = the user's default keyring)
    require_signature: bool = False

    @classmethod
    def of(cls, env: Environment) -> Settings:
        given = env.variables.get("jeju_review") or {}
        return cls(branch=str(given.get("branch") or DEFAULT_BRANCH), keyring=str(given.get("keyring") or ""),
                   require_signature=bool(given.get("require_signature", False)))


@dataclass(frozen=True)
class ContentState:
    """What the run runs: its commit, the tree's state under the reviewed paths, the branch and the signature."""

    commit: str | None  # None: the project is not a git work tree
    reviewed_branch: str
    on_reviewed_branch: bool | None  # None: no commit, or the branch is not known here
    changed: list[str] = field(default_factory=list)  # uncommitted or untracked files under REVIEWED_PATHS
    signature: str = "absent"  # absent, verified, or "failed: <why>"
    problems: list[str] = field(default_factory=list)

    @property
    def reviewed(self) -> bool:
        return not self.problems

    def as_record(self) -> dict[str, Any]:
        data = asdict(self)
        data["tree"] = "clean" if not self.changed else f"{len(self.changed)} changed under the reviewed paths"
        return data


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT,
                          check=False)


def _changed(root: Path) -> list[str]:
    done = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *REVIEWED_PATHS)
    entries = [e for e in done.stdout.split("\0") if e]
    paths, skip = [], False
    for entry in entries:
        if skip:  # the source of a rename (porcelain -z puts it after the new name)
            skip = False
            continue
        paths.append(entry[3:])
        skip = entry[:1] in ("R", "C")
    return sorted(paths)


def _on_branch(root: Path, branch: str) -> bool | None:
    if _git(root, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}").returncode != 0:
        return None
    return _git(root, "merge-base", "--is-ancestor", "HEAD", branch).returncode == 0


def _signature(root: Path, settings: Settings) -> str:
    if not (root / SIGNATURE_DIR / SIGNATURE_FILE).is_file():
        return "absent"
    command = [str(Path(sys.executable).parent / "ansible-sign"), "--nocolor", "project", "gpg-verify"]
    if settings.keyring:
        command += ["--keyring", settings.keyring]
    try:
        done = subprocess.run([*command, str(root)], capture_output=True, text=True, timeout=120, check=False)
    except OSError as exc:
        return f"failed: ansible-sign could not run ({exc}); `make install` installs it"
    if done.returncode == 0:
        return "verified"
    said = [line.split("]", 1)[-1].strip() for line in (done.stdout + done.stderr).splitlines()
            if line.lstrip().startswith("[ERROR")]
    return "failed: " + ("; ".join(said) if said else f"ansible-sign exit {done.returncode}")


def inspect(root: Path, settings: Settings) -> ContentState:
    """The project's content state, and what stops it from counting as reviewed."""
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head.returncode != 0:
        return ContentState(None, settings.branch, None, signature=_signature(root, settings),
                            problems=[f"{root} is not a git work tree with a commit: production runs only from a "
                                      "clone of the reviewed repository"])
    changed = _changed(root)
    on_branch = _on_branch(root, settings.branch)
    signature = _signature(root, settings)
    problems = []
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        problems.append(f"uncommitted changes under {', '.join(REVIEWED_PATHS)}: {shown}")
    if on_branch is None:
        problems.append(f"the reviewed branch {settings.branch} is not known here (git fetch, or set "
                        "jeju_review.branch in the inventory)")
    elif not on_branch:
        problems.append(f"commit {head.stdout.strip()[:12]} is not on the reviewed branch {settings.branch}")
    if signature.startswith("failed"):
        problems.append(f"the ansible-sign signature does not verify ({signature[len('failed: '):]})")
    elif signature == "absent" and settings.require_signature:
        problems.append(f"no ansible-sign signature ({SIGNATURE_DIR}/{SIGNATURE_FILE}) and jeju_review."
                        "require_signature is true")
    return ContentState(head.stdout.strip(), settings.branch, on_branch, changed, signature, problems)


def gate_request(env: Environment, state: ContentState) -> dict[str, Any]:
    """The extra gate `--unreviewed` asks at, in the shape the playbook's gates have."""
    return {"id": UNREVIEWED_GATE, "kind": GATE_UNREVIEWED.kind, "target": f"{env.name} (production)",
            "description": f"Run unreviewed content on production {env.name}: " + "; ".join(state.problems),
            "change": {"commit": state.commit or "none", "changed": state.changed[:10]}}


def refusal(env: Environment, state: ContentState) -> Refused:
    return Refused(f"'{env.name}' is production and this project's content is not reviewed: "
                   + "; ".join(state.problems) + ". Nothing was changed. Run from a clean clone of "
                   f"{state.reviewed_branch}, or pass --unreviewed to be asked at an extra gate.")
