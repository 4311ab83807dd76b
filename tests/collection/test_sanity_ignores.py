"""tests/sanity/ignore-2.19.txt holds only the reviewed policy findings: the collection is Apache-2.0, so
validate-modules' missing-gplv3-license does not apply. Every real finding is fixed instead (`make sanity`)."""

from __future__ import annotations

import re

from tests.support import ROOT

IGNORES = ROOT / "tests" / "sanity" / "ignore-2.19.txt"
_LINE = re.compile(r"^(plugins/(?:modules|lookup|callback)/\w+\.py) "
                   r"validate-modules:missing-gplv3-license # policy: .+$")


def test_only_the_license_policy_is_ignored() -> None:
    lines = IGNORES.read_text().splitlines()
    bad = [line for line in lines if not _LINE.match(line)]
    assert bad == [], f"only GPLv3-header policy lines belong in {IGNORES.name}; fix these instead: {bad}"
    paths = [_LINE.match(line).group(1) for line in lines]  # type: ignore[union-attr]
    assert [p for p in paths if not (ROOT / p).is_file()] == [], "ignores for modules that do not exist"
    assert len(paths) == len(set(paths))
    # validate-modules reads modules, lookups and callbacks (plugins with DOCUMENTATION): each one is in the list
    checked = [p for kind in ("modules", "lookup", "callback") for p in (ROOT / "plugins" / kind).glob("*.py")]
    assert sorted(paths) == sorted(p.relative_to(ROOT).as_posix() for p in checked if p.name != "__init__.py")
