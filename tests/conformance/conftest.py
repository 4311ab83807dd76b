"""The conformance job: kubernetes.core's own integration targets against the lab's Kubernetes API double.

kubernetes_core/ is vendored upstream test data (playbooks and one Ansible test module): pytest must not collect
it. After the run, the terminal summary lists each target's result and time.
"""

from __future__ import annotations

import pytest

collect_ignore_glob = ["kubernetes_core/*"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from .test_kubernetes_core_targets import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("kubernetes.core conformance")
        for line in lines:
            terminalreporter.write_line(line)
