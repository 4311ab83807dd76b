"""jeju_play.review against scratch git repositories and a real ansible-sign signature (Debian's gpg)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jeju_play.review import ContentState, Settings, inspect
from tests.support import commit_project

ANSIBLE_SIGN = Path(sys.executable).parent / "ansible-sign"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@jeju.invalid", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in {"playbooks/network-down.yml": "- hosts: all\n", "roles/gate/tasks/main.yml": "---\n",
                       "catalog.yml": "incidents: []\n", "inventories/mainnet/hosts.yml": "all: {}\n",
                       "docs/runbook.md": "# Runbook\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    commit_project(root)
    return root


def test_a_clean_clone_on_the_reviewed_branch_is_reviewed(repo: Path) -> None:
    state = inspect(repo, Settings())
    assert state.reviewed and state.problems == []
    assert state.commit == git(repo, "rev-parse", "HEAD") and state.on_reviewed_branch is True
    assert state.as_record()["tree"] == "clean" and state.signature == "absent"


def test_uncommitted_and_untracked_files_under_the_reviewed_paths_are_named(repo: Path) -> None:
    (repo / "playbooks" / "network-down.yml").write_text("- hosts: all\n  become: true\n")
    (repo / "roles" / "gate" / "tasks" / "extra.yml").write_text("---\n")
    (repo / "docs" / "runbook.md").write_text("# edited: not content that runs\n")
    state = inspect(repo, Settings())
    assert state.changed == ["playbooks/network-down.yml", "roles/gate/tasks/extra.yml"]
    assert not state.reviewed and "playbooks/network-down.yml, roles/gate/tasks/extra.yml" in state.problems[0]


def test_a_renamed_file_is_named_once_by_its_new_name(repo: Path) -> None:
    git(repo, "mv", "catalog.yml", "inventories/catalog.yml")
    assert inspect(repo, Settings()).changed == ["inventories/catalog.yml"]


def test_a_commit_not_on_the_reviewed_branch_is_refused_by_name(repo: Path) -> None:
    (repo / "playbooks" / "network-down.yml").write_text("- hosts: all\n  gather_facts: false\n")
    git(repo, "commit", "-qam", "not reviewed")
    state = inspect(repo, Settings())
    assert state.on_reviewed_branch is False and state.changed == []
    assert f"commit {state.commit[:12]} is not on the reviewed branch origin/main" in state.problems[0]
    assert inspect(repo, Settings(branch="main")).reviewed  # a team whose reviewed branch is another ref


def test_a_reviewed_branch_that_is_not_known_says_to_fetch(repo: Path) -> None:
    state = inspect(repo, Settings(branch="origin/release"))
    assert state.on_reviewed_branch is None
    assert "origin/release is not known here (git fetch, or set jeju_review.branch" in state.problems[0]


def test_a_tree_that_is_not_a_git_clone_is_not_reviewed(tmp_path: Path) -> None:
    state = inspect(tmp_path, Settings())
    assert state.commit is None and "is not a git work tree" in state.problems[0]


def test_a_required_signature_that_is_absent_is_a_problem(repo: Path) -> None:
    state = inspect(repo, Settings(require_signature=True))
    assert "no ansible-sign signature" in state.problems[0]


@pytest.fixture
def signed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The repository signed as `ansible-sign project gpg-sign` signs it, by a key made for the test."""
    if shutil.which("gpg") is None:
        pytest.fail("gpg is missing: `make install` installs it (bindep.txt)")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Jeju tests <t@jeju.invalid>",
                    "ed25519", "sign", "never"], capture_output=True, check=True)
    # gpg-verify accounts for every file of the tree: what is not signed content is pruned by name.
    folders = "".join(f"recursive-include {folder} *\n" for folder in ("playbooks", "roles", "inventories"))
    (repo / "MANIFEST.in").write_text(f"include catalog.yml\n{folders}prune .git\nprune docs\n")
    # gpg-sign writes the checksums, then asks gpg for a signature through a terminal; the test has none, so it
    # signs the checksums as ansible-sign does (a detached, armored signature).
    subprocess.run([str(ANSIBLE_SIGN), "project", "gpg-sign", str(repo)], capture_output=True, check=False,
                   stdin=subprocess.DEVNULL)
    checksums = repo / ".ansible-sign" / "sha256sum.txt"
    assert "playbooks/network-down.yml" in checksums.read_text()
    subprocess.run(["gpg", "--batch", "--yes", "--armor", "--detach-sign", "--output", f"{checksums}.sig",
                    str(checksums)], capture_output=True, check=True)
    commit_project(repo)
    return repo, home / "pubring.kbx"


def test_a_signed_project_verifies_and_a_changed_file_fails_by_name(signed: tuple[Path, Path]) -> None:
    repo, keyring = signed
    assert inspect(repo, Settings(keyring=str(keyring))).signature == "verified"
    (repo / "playbooks" / "network-down.yml").write_text("- hosts: all\n  become: true\n")
    git(repo, "commit", "-qam", "changed after signing")
    commit_project(repo)  # even merged to the reviewed branch, the signature no longer holds
    state = inspect(repo, Settings(keyring=str(keyring)))
    assert state.signature.startswith("failed:") and "playbooks/network-down.yml" in state.signature
    assert not state.reviewed and "signature does not verify" in state.problems[0]


def test_a_signature_by_an_unknown_key_fails(signed: tuple[Path, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _keyring = signed
    stranger = tmp_path / "stranger"
    stranger.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(stranger))
    state = inspect(repo, Settings())
    assert state.signature == "failed: GPG signature verification failed." and not state.reviewed


def test_the_record_names_the_commit_the_tree_and_the_signature(repo: Path) -> None:
    (repo / "catalog.yml").write_text("incidents: [edited]\n")
    record = inspect(repo, Settings()).as_record()
    assert record["commit"] == git(repo, "rev-parse", "HEAD") and record["tree"] == "1 changed under the reviewed paths"
    assert set(record) >= {"reviewed_branch", "on_reviewed_branch", "changed", "signature", "problems"}
    assert ContentState(None, "origin/main", None).as_record()["tree"] == "clean"
