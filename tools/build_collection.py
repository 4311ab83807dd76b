"""Build the collection tarball jeju-ops-<version>.tar.gz: `python tools/build_collection.py [--output-path DIR]`.

Two passes of `ansible-galaxy collection build`:
1. the tree as it is, with galaxy.yml's build_ignore: the collection and nothing else;
2. that content unpacked into a staging folder, where each playbook whose file name has a hyphen gets a second
   name with underscores (a relative symlink), then built again.

Why the second name: a collection playbook is run by its FQCN (`ansible-playbook jeju.ops.network_down`), and
ansible-core 2.19 accepts only word characters in an FQCN (AnsibleCollectionRef.VALID_FQCR_RE `^\\w+(\\.\\w+){2,}$`),
then looks for `<collection>/playbooks/<resource>.yml`. The catalog, the runner and `make lint` know the playbooks
as playbooks/<incident>.yml (hyphens), and the catalog check refuses a playbooks/*.yml without a catalog entry, so
the underscore names exist only in the tarball. The symlink sits beside its target, so the playbook's relative
includes (tasks/<incident>/...) resolve the same under either name.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GALAXY = Path(sys.executable).parent / "ansible-galaxy"


def fqcn_name(playbook: str) -> str:
    """The playbook's FQCN resource name: `network-down.yml` -> `network_down`."""
    return Path(playbook).stem.replace("-", "_")


def _galaxy_build(source: Path, output: Path) -> Path:
    done = subprocess.run([str(GALAXY), "collection", "build", str(source), "--output-path", str(output), "--force"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ansible-galaxy collection build {source} failed:\n{done.stdout}{done.stderr}")
    built = sorted(output.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not built:
        raise SystemExit(f"ansible-galaxy collection build {source} wrote no tarball into {output}")
    return built[-1]


def add_fqcn_names(collection: Path) -> list[str]:
    """Give each hyphenated playbooks/*.yml an underscore name beside it; returns the names added."""
    added = []
    for playbook in sorted((collection / "playbooks").glob("*.yml")):
        alias = playbook.with_name(fqcn_name(playbook.name) + ".yml")
        if alias != playbook and not alias.exists():
            alias.symlink_to(playbook.name)
            added.append(alias.name)
    return added


def build(output: Path, root: Path = ROOT) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jeju-ops-build-") as tmp:
        first = _galaxy_build(root, Path(tmp) / "first")
        stage = Path(tmp) / "stage"
        with tarfile.open(first) as tar:
            tar.extractall(stage, filter="tar")
        for name in ("MANIFEST.json", "FILES.json"):
            (stage / name).unlink()
        shutil.copy2(root / "galaxy.yml", stage / "galaxy.yml")
        add_fqcn_names(stage)
        final = _galaxy_build(stage, Path(tmp) / "final")
        target = output / final.name
        shutil.move(str(final), target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-path", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    tarball = build(args.output_path.resolve())
    print(tarball)
    return 0


if __name__ == "__main__":
    sys.exit(main())
