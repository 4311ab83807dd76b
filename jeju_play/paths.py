"""Where things live: the project tree (catalog, playbooks, inventories), the run record and the lab state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
COLLECTION_NAMESPACE = "jeju"
COLLECTION_NAME = "ops"


def project_root() -> Path:
    """The tree that holds catalog.yml, playbooks/ and inventories/.

    JEJU_PLAY_HOME wins; otherwise the checkout this package was installed from (editable install).
    """
    override = os.environ.get("JEJU_PLAY_HOME")
    if override:
        return Path(override).resolve()
    return PACKAGE_DIR.parent


def runs_dir() -> Path:
    """The run record: one folder per run. JEJU_PLAY_RUNS overrides the default `<project>/runs`."""
    override = os.environ.get("JEJU_PLAY_RUNS")
    return Path(override).resolve() if override else project_root() / "runs"


def incidents_dir() -> Path:
    """Incidents, each a folder of runs and notifications. JEJU_PLAY_INCIDENTS overrides `<runs>/../incidents`."""
    override = os.environ.get("JEJU_PLAY_INCIDENTS")
    return Path(override).resolve() if override else runs_dir().parent / "incidents"


def serve_dir() -> Path:
    """`jeju-play serve`'s own state (its runs, cooldowns, pause) and its runs' output. JEJU_PLAY_SERVE_STATE
    overrides `<runs>/../serve`."""
    override = os.environ.get("JEJU_PLAY_SERVE_STATE")
    return Path(override).resolve() if override else runs_dir().parent / "serve"


def lab_dir() -> Path:
    """Pids, logs, kubeconfig and state of the local lab. JEJU_PLAY_LAB_DIR overrides `<project>/.lab`."""
    override = os.environ.get("JEJU_PLAY_LAB_DIR")
    return Path(override).resolve() if override else project_root() / ".lab"


def node_bin(tool: str) -> Path:
    """A pinned npm tool's binary (anvil, cast) installed by `make install` under node_modules."""
    return PACKAGE_DIR.parent / "node_modules" / "@foundry-rs" / f"{tool}-linux-amd64" / "bin" / tool


def collections_dir(root: Path | None = None) -> Path:
    """A collections path in which the project tree is the collection jeju.ops (a symlink made on demand)."""
    tree = root or PACKAGE_DIR.parent
    base = tree / ".collections"
    link = base / "ansible_collections" / COLLECTION_NAMESPACE / COLLECTION_NAME
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.path.relpath(tree, link.parent), target_is_directory=True)
    return base


@dataclass(frozen=True)
class Project:
    """One project tree: the catalog, the playbooks, the roles, ansible.cfg and the collection jeju.ops."""

    root: Path

    @property
    def ansible_cfg(self) -> Path:
        return self.root / "ansible.cfg"

    @property
    def roles(self) -> Path:
        return self.root / "roles"

    def collections(self) -> Path:
        return collections_dir(self.root)
