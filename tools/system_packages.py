"""Install the system packages of bindep.txt that this machine lacks: `python3 tools/system_packages.py`.

Standard library only: `make install` runs it with the system Python, before .venv exists.

    python3 tools/system_packages.py                 # install what is missing (every profile in the file)
    python3 tools/system_packages.py --check         # list what is missing; exit 1 when something is
    python3 tools/system_packages.py --list [-p lab] # the packages selected for this platform and profiles

It reads bindep.txt the way bindep does (name, [selectors], version constraints are not used here; platform
selectors `platform:dpkg`, `platform:rpm`, `platform:debian`...; profiles; `!` negation; `(a b)` groups that must
all match) and selects the lines for this machine and the profiles given (default: all of them, for a developer's
machine and CI; ansible-builder installs the default profile only). tests/collection/test_system_packages.py
checks that the selection is the same as the real bindep's.

Why not `bindep -b`: it asks dpkg for the package name only, so it would install Debian's npm over the NodeSource
nodejs that already provides npm (they conflict), and Debian's kubernetes-client (1.20) over a kubectl
installed from the Kubernetes repository. Here a package counts as present when it is installed, when an
installed package provides it, or when the command its line names (`# command: kubectl`) is on PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDEP = ROOT / "bindep.txt"
_LINE = re.compile(r"^(?P<name>[\w/][\w.+\-/]*)(?:\s+\[(?P<selectors>[^\]]*)\])?"
                   r"(?P<version>[^#]*)(?:#(?P<comment>.*))?$")
_COMMAND = re.compile(r"command:\s*(\S+)")


@dataclass(frozen=True)
class Package:
    name: str
    selectors: tuple[tuple[bool, tuple[str, ...]], ...]  # (positive, names that must all match)
    command: str | None
    line: int

    def profiles(self) -> set[str]:
        return {n for _pos, group in self.selectors for n in group if not n.startswith("platform:")}


def parse(text: str) -> list[Package]:
    packages = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise SystemExit(f"bindep.txt:{number}: cannot read {raw!r}")
        command = _COMMAND.search(match.group("comment") or "")
        packages.append(Package(match.group("name"), _selectors(match.group("selectors") or ""),
                                command.group(1) if command else None, number))
    return packages


def _selectors(text: str) -> tuple[tuple[bool, tuple[str, ...]], ...]:
    found = []
    for raw in re.findall(r"!?\([^)]*\)|\S+", text):
        positive = not raw.startswith("!")
        token = raw.lstrip("!")
        names = tuple(token.strip("()").split()) if token.startswith("(") else (token,)
        found.append((positive, names))
    return tuple(found)


def platform_profiles() -> set[str]:
    """bindep's platform profiles for this machine (the ones our file uses: dpkg/rpm, the distribution)."""
    found = set()
    if shutil.which("dpkg"):
        found.add("platform:dpkg")
    if shutil.which("rpm") and not shutil.which("dpkg"):
        found.add("platform:rpm")
    release = Path("/etc/os-release")
    if release.exists():
        fields = dict(line.split("=", 1) for line in release.read_text().splitlines() if "=" in line)
        distro = fields.get("ID", "").strip('"')
        if distro:
            found.add(f"platform:{distro}")
            version = fields.get("VERSION_ID", "").strip('"')
            if version:
                found.add(f"platform:{distro}-{version}")
            codename = fields.get("VERSION_CODENAME", "").strip('"')
            if codename:
                found.add(f"platform:{distro}-{codename}")
    return found


def _matches(selectors: list[tuple[bool, tuple[str, ...]]], active: set[str]) -> bool:
    """bindep's rule: any negative selector that matches excludes; if there are positives, one must match."""
    positives = [group for positive, group in selectors if positive]
    if any(all(n in active for n in group) for positive, group in selectors if not positive):
        return False
    return not positives or any(all(n in active for n in group) for group in positives)


def select(packages: list[Package], profiles: set[str], platform: set[str]) -> list[Package]:
    """The packages bindep would list for these user profiles on this platform ('default' when none)."""
    active = (profiles or {"default"}) | platform
    chosen = []
    for package in packages:
        platform_part = [(p, g) for p, g in package.selectors if all(n.startswith("platform:") for n in g)]
        user_part = [(p, g) for p, g in package.selectors if (p, g) not in platform_part]
        if _matches(platform_part, active) and _matches(user_part, active):
            chosen.append(package)
    return chosen


def _installed_dpkg() -> tuple[set[str], set[str]]:
    """Installed package names and the names they provide (virtual packages such as npm from NodeSource)."""
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Provides}\n"],
                          capture_output=True, text=True, check=False)
    installed, provided = set(), set()
    for row in done.stdout.splitlines():
        name, status, provides = [*row.split("\t"), "", ""][:3]
        if status.endswith(" installed"):
            installed.add(name.split(":")[0])
            provided |= {p.split("(")[0].strip() for p in provides.split(",") if p.strip()}
    return installed, provided


def _installed_rpm(name: str) -> bool:
    return subprocess.run(["rpm", "-q", "--whatprovides", name], capture_output=True, check=False).returncode == 0


def missing(packages: list[Package], platform: set[str]) -> list[Package]:
    if "platform:dpkg" in platform:
        installed, provided = _installed_dpkg()
        present = installed | provided
        return [p for p in packages if p.name not in present and not (p.command and shutil.which(p.command))]
    return [p for p in packages if not _installed_rpm(p.name) and not (p.command and shutil.which(p.command))]


def install(packages: list[Package], platform: set[str]) -> int:
    names = sorted({p.name for p in packages})
    sudo = [] if os.geteuid() == 0 else (["sudo"] if shutil.which("sudo") else None)
    if sudo is None:
        print(f"system packages: missing {' '.join(names)}; install them as root (no sudo here).", file=sys.stderr)
        return 1
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if "platform:dpkg" in platform:
        commands = [[*sudo, "apt-get", "update", "-qq"], [*sudo, "apt-get", "install", "-y", "-qq", *names]]
    else:
        commands = [[*sudo, "dnf", "install", "-y", *names]]
    print(f"system packages: installing {' '.join(names)}")
    for command in commands:
        if subprocess.run(command, env=env, check=False).returncode != 0:
            print(f"system packages: `{' '.join(command)}` failed; install {' '.join(names)} by hand.",
                  file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--file", type=Path, default=BINDEP)
    parser.add_argument("-p", "--profile", action="append", default=None,
                        help="a bindep profile (repeatable); default: every profile in the file")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="only list what is missing (exit 1 when any)")
    group.add_argument("--list", action="store_true", help="print the selected package names")
    args = parser.parse_args(argv)
    packages = parse(args.file.read_text(encoding="utf-8"))
    profiles = set(args.profile) if args.profile is not None else set().union(*(p.profiles() for p in packages))
    platform = platform_profiles()
    chosen = select(packages, profiles | {"default"} if args.profile is None else profiles, platform)
    if args.list:
        print("\n".join(p.name for p in chosen))
        return 0
    lacking = missing(chosen, platform)
    if not lacking:
        print(f"system packages: all {len(chosen)} of {args.file.name} present")
        return 0
    if args.check:
        print("system packages missing: " + " ".join(p.name for p in lacking))
        return 1
    return install(lacking, platform)


if __name__ == "__main__":
    sys.exit(main())
