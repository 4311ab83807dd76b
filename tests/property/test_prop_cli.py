"""Generated command lines and `-e` values: never a traceback; bad input exits 2 with a message; nothing recorded.

A command line that would really run a playbook stops at the runner's entry (jeju_play.run.execute, and for several
environments jeju_play.fleet.run_across, are replaced by one that exits with REACHED): what is checked here is
everything before it, which is where bad input must stop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from jeju_play.cli import _route, app, parse_extra_vars
from jeju_play.errors import BadInput
from tests.support import recorded_runs, run_cli

CASES = settings.default.max_examples  # the jeju-play profile (conftest.py): 1,000 unless told

REACHED = 99  # the stand-in for the runner exits with this: the command line was accepted
ALLOWED = {0, 2, 4, REACHED}  # shown, bad input, refused by a guard before anything ran (production --yes), accepted
# Commands that start or change something outside this process (the lab, a cluster): never generated.
UNSAFE = {"lab", "drill", "freeze"}
WORDS = ["list", "show", "history", "runs", "validate", "audit", "verify", "run", "help", "version", "serve",
         "demo-ok", "demo", "demo-fail", "demo-escalate", "demo-manual", "demo-slow", "nosuch", "network-down",
         "-i", "--inventory", "lab", "prod", "nosuch-env", "/", "/tmp", "..", ".", "~", "inventories/lab",
         "--check", "--yes", "-y", "--yes-i-mean", "--json", "-v", "-vv", "--verbose", "--help", "-h", "--all",
         "-n", "--limit", "-e", "--extra-var", "--", "-", "=", "k=v", "k=[1", "k={a: [}", "ansible_x=1",
         "jeju_run_id=x", "0", "-1", "20260101T000000Z-nothing", "x" * 300, "--no-such-option"]
token = st.one_of(st.sampled_from(WORDS), st.text(max_size=24),
                  st.text(alphabet="-=[]{}:,./~ abcdeijkly0123456789", max_size=16))
argvs = st.lists(token, max_size=8)


@pytest.fixture(scope="module")
def cli(fixture_project: Path) -> Iterator[Path]:
    import jeju_play.fleet
    import jeju_play.run

    def execute(*_args: Any, **_kwargs: Any) -> Any:
        raise typer.Exit(REACHED)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jeju_play.run, "execute", execute)
        patch.setattr(jeju_play.fleet, "run_across", execute)  # several -i: each run would be a process of its own
        yield fixture_project / "runs"


COMMAND = get_command(app)  # what typer's CliRunner builds at each call (three quarters of its time), built once


def unsafe(argv: list[str]) -> bool:
    """Whether click would take one of UNSAFE as the command: the first word, or the word after a leading --."""
    routed = _route(argv)
    first = routed[1] if routed[:1] == ["--"] and len(routed) > 1 else (routed[0] if routed else "")
    return first in UNSAFE


def invoke(argv: list[str]) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(COMMAND, _route(argv))
    return result.exit_code, result.output, result.exception


def assert_bad_input_contract(argv: list[str], runs: Path) -> int:
    code, output, exception = invoke(argv)
    assert exception is None or isinstance(exception, SystemExit), (argv, exception, output)
    assert "Traceback" not in output, (argv, output)
    assert code in ALLOWED, (argv, code, output)
    if code == 2:
        assert output.strip(), argv  # a message says what was wrong
    assert recorded_runs(runs) == [], argv
    return code


@given(argvs)
def test_generated_command_lines(cli: Path, argv: list[str]) -> None:
    assume(not unsafe(argv))
    assert_bad_input_contract(argv, cli)


extra_values = st.one_of(
    st.text(max_size=40),
    st.builds(lambda k, v: f"{k}={v}", st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
              st.one_of(st.text(max_size=30),
                        st.text(alphabet="[]{}:,'\"!&*#|>- abc123\n\t", max_size=30).map(lambda s: "[" + s),
                        st.text(alphabet="[]{}:,'\"!&*#|>- abc123\n\t", max_size=30).map(lambda s: "{" + s),
                        st.sampled_from(["[2024-13-45]", "{a: !!python/object:os.system x}", "{a: *b}", "[" * 400,
                                         "{a: 1, a: 2}", "[.nan, .inf]", "{? [a]: b}"]))),
)


@given(st.lists(extra_values, min_size=1, max_size=3), st.sampled_from([[], ["--check"], ["--json"]]))
def test_generated_extra_vars(cli: Path, values: list[str], flags: list[str]) -> None:
    argv = ["demo-ok", "-i", "lab", *flags]
    for value in values:
        argv += ["-e", value]
    code = assert_bad_input_contract(argv, cli)
    try:
        parsed = parse_extra_vars(values)
    except BadInput:
        assert code == 2, (values, code)
        return
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) for key in parsed)
    reserved = any(key.startswith(("ansible_", "jeju_run_", "jeju_project_root", "jeju_gate_preapproved",
                                   "jeju_incident", "jeju_catalog")) for key in parsed)
    assert code == (2 if reserved else REACHED), (values, code)


@settings(max_examples=max(10, CASES // 100))
@given(st.one_of(argvs, st.lists(extra_values, min_size=1, max_size=2).map(
    lambda values: ["demo-ok", "-i", "lab"] + [x for v in values for x in ("-e", v)])))
def test_a_sample_through_the_installed_script(cli: Path, argv: list[str]) -> None:
    """The real script agrees with the in-process run (which would not run a playbook) and prints no traceback."""
    assume(not unsafe(argv) and all("\x00" not in a and not re.search(r"[\ud800-\udfff]", a) for a in argv))
    code, _, _ = invoke(argv)
    assume(code != REACHED)  # accepted command lines would really run a playbook here
    result = run_cli(*argv)
    assert result.returncode == code, (argv, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert recorded_runs(cli) == []
