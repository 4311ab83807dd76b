"""`ansible-test sanity` on the collection as it ships: `python tools/sanity.py [ansible-test sanity options]`.

ansible-test needs the collection at `.../ansible_collections/jeju/ops` inside a git work tree. This script
builds the tarball (tools/build_collection.py), unpacks it into a temporary `ansible_collections/jeju/ops`, adds
tests/sanity/ (the reviewed ignore file), commits it to a fresh git repository and runs
`ansible-test sanity --local --python 3.11` there, then prints the wall time.

Offline bootstrap: ansible-test creates one virtual environment per test and first downloads a pip bootstrap
script from a host that cannot be reached from our machines. When ~/.ansible/test/cache/get_pip_<version>.py
is missing, this script writes a stand-in there that bootstraps pip from the interpreter's own ensurepip and
then installs what ansible-test asked for from the package index the machine is configured with (PyPI). It passes
the CA bundle explicitly (--cert): ansible-test hands its children only a short list of environment variables, so
PIP_CERT does not reach them.

Selection: every sanity test ansible-core 2.19 has for a collection (24 with pylint, shellcheck and pslint; the
last two find no shell or PowerShell files and pass), on the Python that runs this script (3.11, the CI's and the
control node's). Our modules run where the controller runs them (localhost, ansible_python_interpreter set), and
need Python 3.10 or later (zip(strict=...)); older target Pythons are not tested. Pass ansible-test options
through, e.g. `--test validate-modules`; `--keep` keeps the staged tree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_collection import ROOT, build

BIN = Path(sys.executable).parent
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"

STAND_IN = '''"""Stand-in for get-pip.py written by jeju-play tools/sanity.py (offline): ensurepip, then pip install."""
CERT = @CERT@
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
cert = ["--cert", CERT] if CERT else []
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *cert, *args], env=env))
'''


def pip_bootstrap_version() -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    class _Python:
        version = PYTHON_VERSION

    return get_venv_packages(_Python())["pip"]  # type: ignore[arg-type]


def ensure_bootstrap() -> Path:
    """The cached pip bootstrap ansible-test looks for; a stand-in when it is missing."""
    version = pip_bootstrap_version()
    path = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        cert = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or ""
        path.write_text(STAND_IN.replace("@CERT@", repr(cert)), encoding="utf-8")
        print(f"sanity: wrote the offline pip bootstrap stand-in {path}")
    return path


def stage(work: Path) -> Path:
    """The built collection unpacked at work/ansible_collections/jeju/ops, with tests/sanity, as one git commit."""
    tarball = build(work / "dist")
    tree = work / "ansible_collections" / "jeju" / "ops"
    tree.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(tree, filter="tar")
    if (ROOT / "tests" / "sanity").is_dir():
        shutil.copytree(ROOT / "tests" / "sanity", tree / "tests" / "sanity")
    git = ["git", "-c", "user.name=sanity", "-c", "user.email=sanity@localhost", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "collection as built"]):
        subprocess.run([*git, *command], cwd=tree, check=True)
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the staged collection (its path is printed)")
    args, passthrough = parser.parse_known_args(argv)
    ensure_bootstrap()
    work = Path(tempfile.mkdtemp(prefix="jeju-ops-sanity-"))
    started = time.monotonic()
    returncode = 1
    try:
        tree = stage(work)
        command = [str(BIN / "ansible-test"), "sanity", "--local", "--python", PYTHON_VERSION, "--color", "no"]
        command += passthrough
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        env.pop("ANSIBLE_CONFIG", None)
        returncode = subprocess.run(command, cwd=tree, env=env, check=False).returncode
    finally:
        elapsed = time.monotonic() - started
        print(f"sanity: {elapsed:.0f} s wall (staged in {work})")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
