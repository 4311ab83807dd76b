"""Run every role's molecule `default` scenario against a private lab (what `make molecule` does).

The lab runs in a throw-away project copy, so a developer's own lab (and its lab.yml) is left alone; the
scenarios find that copy's inventory through JEJU_PLAY_INVENTORY.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jeju_lab.control import Lab  # noqa: E402
from tests.support import lab_env, make_lab_project  # noqa: E402


def scenarios(only: list[str]) -> list[Path]:
    found = sorted(ROOT.glob("roles/*/molecule/default/molecule.yml"))
    return [s.parent for s in found if not only or s.parents[2].name in only]


def main() -> int:
    selected = scenarios(sys.argv[1:])
    if not selected:
        print("molecule: no role has a default scenario")
        return 0
    with tempfile.TemporaryDirectory(prefix="jeju-molecule-") as tmp:
        project = make_lab_project(Path(tmp) / "project")
        env = {**os.environ, **lab_env(project),
               "JEJU_PLAY_INVENTORY": str(project / "inventories" / "local"),
               "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        os.environ.update(lab_env(project))
        lab = Lab.default()
        lab.up()
        try:
            failed = []
            for scenario in selected:
                role_dir = scenario.parents[1]
                print(f"molecule: {role_dir.name}", flush=True)
                result = subprocess.run([str(Path(sys.executable).parent / "molecule"), "test"],
                                        cwd=role_dir, env=env, check=False)
                if result.returncode != 0:
                    failed.append(role_dir.name)
                lab.heal()
        finally:
            lab.down()
    if failed:
        print(f"molecule: failed for {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"molecule: {len(selected)} scenario(s) passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
