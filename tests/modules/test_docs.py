"""Every module's documentation renders with `ansible-doc`: description, examples and check-mode support."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jeju_play.paths import collections_dir

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


def test_ansible_doc_renders_every_module() -> None:
    collections_dir()
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-j",
                             *[f"jeju.ops.{m}" for m in MODULES]],
                            capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    assert sorted(docs) == sorted(f"jeju.ops.{m}" for m in MODULES)
    for name, doc in docs.items():
        assert doc["doc"].get("short_description"), name
        assert doc.get("examples"), f"{name} has no EXAMPLES"
        assert "check_mode" in doc["doc"].get("attributes", {}), f"{name} does not say whether it supports check mode"
