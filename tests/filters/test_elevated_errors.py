"""jeju.ops.elevated_errors_cause / log_template: templates folded, the baseline comparison, a dominant known
signature, ties between signatures, and missing data."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.jeju.ops.plugins.filter.elevated_errors import (
    CAUSES,
    elevated_errors_cause,
    log_template,
    parse_line,
)

HASH = "0x" + "ab" * 32
ADDRESS = "0x" + "12" * 20
SETTINGS = {
    "window_seconds": 60, "max_lines": 1000, "elevated_factor": 3, "min_lines": 5, "dominant_share": 0.5,
    "top_messages": 10, "rpc_probe_samples": 20,
    "baseline_per_minute": {"op_node": {"errors": 2, "warnings": 6}, "op_batcher": {"errors": 0, "warnings": 1},
                            "reth": {"errors": 0, "warnings": 0}},
}
CATALOG = [
    {"name": "network-down", "log_signatures": ["failed to fetch L1 block", "invalid block"]},
    {"name": "low-balance", "log_signatures": ["insufficient funds"]},
    {"name": "rpc-degraded"},
]
RPC_OK = {"error_rate": 0.0, "errors": 0, "error_examples": [], "p95_ms": 3.0}


def line(level: str, msg: str, err: str = "", second: int = 0, **fields: Any) -> str:
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    return (f't=2026-12-01T13:50:{second:02d}+0000 lvl={level} msg="{msg}"' + (f' err="{err}"' if err else "")
            + extra)


def noise(errors: int = 0, warnings: int = 0) -> list[str]:
    """A component's usual lines: gossip errors and dial warnings (no known signature)."""
    return ([line("eror", "Failed to publish unsafe payload to gossip", "no peers", i % 60, block=i)
             for i in range(errors)]
            + [line("warn", "Failed to dial peer", "dial backoff", i % 60, peer=i) for i in range(warnings)]
            + [line("info", "Sequencer sealed block", "", i % 60, block=i) for i in range(20)])


def component(key: str, logs: list[str], pod: str = "pod-a", errors: list[str] | None = None) -> dict[str, Any]:
    return {"key": key, "name": key.replace("_", "-"), "logs": logs, "log_pod": pod, "errors": errors or []}


def reads(op_node: list[str] | None = None, batcher: list[str] | None = None, rpc: dict[str, Any] | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"components": [component("op_node", noise(2, 6) if op_node is None else op_node),
                           component("op_batcher", [] if batcher is None else batcher)],
            "rpc": RPC_OK if rpc is None else rpc, **extra}


L1_FETCH = [line("warn", "failed to fetch L1 block", "dial tcp 127.0.0.1:8545: connect: connection refused", i)
            for i in range(40)]
FUNDS = [line("eror", "Failed to send transaction", "insufficient funds for gas * price + value", i, tx=HASH)
         for i in range(12)]
INVALID = [line("eror", "Derivation process critical error", f"failed to process block {100 + i}: invalid block", i)
           for i in range(12)]

CASES = [
    # (id, reads, expected cause, expected incident, what is elevated)
    ("the usual noise is the baseline", reads(), "baseline", "", []),
    ("at exactly three times the baseline is not above it", reads(noise(6, 6)), "baseline", "", []),
    ("ten times the errors, no known signature", reads(noise(20, 6)), "elevated", "", ["op-node"]),
    ("warnings alone can be elevated", reads(noise(2, 30)), "elevated", "", ["op-node"]),
    ("few lines are noise even with no baseline", reads(batcher=FUNDS[:4]), "baseline", "", []),
    ("L1 fetch errors dominate", reads(noise(2, 6) + L1_FETCH), "known_signature", "network-down", ["op-node"]),
    ("insufficient funds dominate", reads(batcher=FUNDS), "known_signature", "low-balance", ["op-batcher"]),
    ("an invalid block dominates", reads(noise(2, 6) + INVALID), "known_signature", "network-down", ["op-node"]),
    ("a known signature that does not dominate", reads(noise(30, 6) + INVALID[:5]), "elevated", "", ["op-node"]),
    ("a signature in a component at baseline does not count", reads(noise(2, 6) + L1_FETCH[:2], batcher=noise(0, 40)),
     "elevated", "", ["op-batcher"]),
    ("two incidents' signatures tie", reads(noise(0, 0) + INVALID[:10], batcher=FUNDS[:10]), "elevated", "",
     ["op-node", "op-batcher"]),
    ("one incident's two signatures add up", reads(noise(2, 6) + L1_FETCH[:10] + INVALID[:10], batcher=FUNDS[:12]),
     "known_signature", "network-down", ["op-node", "op-batcher"]),
    ("the public RPC's error rate alone", reads(rpc={**RPC_OK, "error_rate": 0.25, "errors": 5}), "elevated", "",
     ["public RPC"]),
    ("the RPC at the alert's ratio is not above it", reads(rpc={**RPC_OK, "error_rate": 0.05, "errors": 1}),
     "baseline", "", []),
    ("an unreadable log", {"components": [component("op_node", [], errors=["logs of op-node-a: not found"])],
                           "rpc": RPC_OK}, "unread", "", []),
    ("a component with no pod", {"components": [component("op_node", [], pod="")], "rpc": RPC_OK}, "unread", "", []),
    ("the RPC not measured", reads(rpc={"failed": True, "msg": "connection refused"}), "unread", "", []),
    ("elevated wins over unread", {"components": [component("op_node", noise(20, 6)), component("reth", [], pod="")],
                                   "rpc": {}}, "elevated", "", ["op-node"]),
]


@pytest.mark.parametrize(("reads_", "expected", "incident", "elevated"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_cause(reads_: dict[str, Any], expected: str, incident: str, elevated: list[str]) -> None:
    decided = elevated_errors_cause(reads_, SETTINGS, 0.05, CATALOG)
    assert decided["cause"] == expected
    assert decided["cause_text"] == CAUSES[expected]
    assert decided["healthy"] is (expected == "baseline")
    assert decided["incident"] == incident
    assert decided["elevated"] == elevated


TEMPLATES = [
    ("numbers", "failed to process block 1234: invalid block", "failed to process block <n>: invalid block"),
    ("hashes and addresses", f"tx {HASH} from {ADDRESS} at 0xdead", "tx <hash> from <address> at <hex>"),
    ("bare hashes", "root " + "cd" * 32, "root <hash>"),
    ("IPs with ports", "dial tcp 10.0.3.17:9222: i/o timeout", "dial tcp <ip>: i/o timeout"),
    ("peer ids", "peer 16Uiu2HAmQ3p8Fbm4wUpKd7yhsq5cE6pGYXqVzUD7R9bfVYFrx3Tz gone", "peer <peer> gone"),
    ("uuids", "request 123e4567-e89b-12d3-a456-426614174000 failed", "request <uuid> failed"),
    ("decimals and negatives", "took 1.25s, code -32000", "took <n>s, code <n>"),
    ("names with digits stay", "failed to fetch L1 block from op_node_2", "failed to fetch L1 block from op_node_2"),
    ("whitespace", "a   b\tc", "a b c"),
]


@pytest.mark.parametrize(("text", "template"), [t[1:] for t in TEMPLATES], ids=[t[0] for t in TEMPLATES])
def test_templates_fold_what_varies(text: str, template: str) -> None:
    assert log_template(text) == template


LINES = [
    ("logfmt", line("eror", "boom", "bad 1", 5), ("errors", "2026-12-01T13:50:05+0000", "boom: bad 1")),
    ("logfmt crit", 't=x lvl=crit msg="Application failed"', ("errors", "x", "Application failed")),
    ("logfmt warn with escapes", 't=x lvl=warn msg="say \\"hi\\""', ("warnings", "x", 'say "hi"')),
    ("logfmt info", 't=x lvl=info msg="fine"', ("", "x", "fine")),
    ("geth terminal", "WARN [12-01|13:50:16.123] Failed to dial peer   peer=abc err=\"dial backoff\"",
     ("warnings", "12-01|13:50:16.123", "Failed to dial peer: dial backoff")),
    ("reth tracing", "2026-12-01T13:50:16.5Z ERROR reth::rpc: Request failed method=eth_call",
     ("errors", "2026-12-01T13:50:16.5Z", "Request failed")),
    ("json", '{"level": "warning", "time": "x", "message": "slow", "error": "db"}', ("warnings", "x", "slow: db")),
    ("no level", "just text", ("", "", "just text")),
]


@pytest.mark.parametrize(("raw", "parsed"), [c[1:] for c in LINES], ids=[c[0] for c in LINES])
def test_lines_of_each_log_format(raw: str, parsed: tuple[str, str, str]) -> None:
    assert parse_line(raw) == parsed


def test_lines_group_by_template_with_count_first_and_last_seen() -> None:
    logs = [line("eror", "Failed at block", f"block {n} hash {HASH}", n) for n in range(3, 30)] + noise(0, 6)
    decided = elevated_errors_cause(reads(logs), SETTINGS, 0.05, CATALOG)
    first = decided["top"][0]
    assert (first["component"], first["level"], first["template"]) == ("op-node", "error",
                                                                         "Failed at block: block <n> hash <hash>")
    assert first["count"] == 27
    assert (first["first_seen"], first["last_seen"]) == ("2026-12-01T13:50:03+0000", "2026-12-01T13:50:29+0000")
    assert decided["top"][1]["template"] == "Failed to dial peer: dial backoff" and decided["top"][1]["count"] == 6
    assert "info" not in {t["level"] for t in decided["top"]}


def test_the_baseline_comparison_in_numbers() -> None:
    settings = {**SETTINGS, "window_seconds": 30}
    decided = elevated_errors_cause(reads(noise(10, 3)), settings, 0.05, CATALOG)
    errors = decided["components"][0]["levels"]["errors"]
    assert errors == {"count": 10, "baseline_per_minute": 2.0, "expected": 1.0, "limit": 5.0, "per_minute": 20.0,
                      "times_baseline": 10.0, "elevated": True}
    assert decided["components"][0]["levels"]["warnings"]["elevated"] is False
    assert decided["evidence"]["components"]["op-node"].startswith("errors 10 (baseline 1 in the window, elevated "
                                                                   "from 5) ELEVATED; warnings 3")
    batcher = decided["components"][1]["levels"]["errors"]
    assert batcher["times_baseline"] is None and batcher["limit"] == 5.0  # no baseline: min_lines decides


def test_the_dominant_signature_names_the_incident_and_its_share() -> None:
    decided = elevated_errors_cause(reads(noise(2, 6) + L1_FETCH), SETTINGS, 0.05, CATALOG)
    assert decided["dominant"] == {"incident": "network-down", "signature": "failed to fetch L1 block", "lines": 40,
                                   "of_lines": 48, "share": 0.833}
    assert decided["signature"] == "failed to fetch L1 block"
    assert decided["evidence"]["dominant_signature"] == (
        "'failed to fetch L1 block' (network-down): 40 of 48 elevated lines (83%)")
    assert decided["top"][0]["signature"] == "failed to fetch L1 block" and decided["top"][0]["incident"] == (
        "network-down")


def test_a_tie_names_no_incident_but_both_candidates() -> None:
    decided = elevated_errors_cause(reads(INVALID[:10], batcher=FUNDS[:10]), SETTINGS, 0.05, CATALOG)
    assert decided["incident"] == "" and decided["tied"] == ["network-down", "low-balance"]
    assert decided["evidence"]["dominant_signature"] == "none: the signatures of network-down and low-balance tie"
    assert {(s["incident"], s["lines"]) for s in decided["signatures"]} == {("network-down", 10), ("low-balance", 10)}


def test_the_share_needed_comes_from_the_inventory() -> None:
    logs = noise(30, 6) + INVALID[:10]  # 10 of 46 elevated lines
    assert elevated_errors_cause(reads(logs), SETTINGS, 0.05, CATALOG)["incident"] == ""
    lenient = {**SETTINGS, "dominant_share": 0.2}
    assert elevated_errors_cause(reads(logs), lenient, 0.05, CATALOG)["incident"] == "network-down"


def test_signatures_come_from_the_catalog_only() -> None:
    decided = elevated_errors_cause(reads(noise(2, 6) + L1_FETCH), SETTINGS, 0.05, [])
    assert decided["cause"] == "elevated" and decided["signatures"] == []


def test_a_cut_window_is_said() -> None:
    settings = {**SETTINGS, "max_lines": 20}
    decided = elevated_errors_cause(reads(noise(2, 6)), settings, 0.05, CATALOG)
    assert decided["components"][0]["capped"] is True
    assert "the window was cut" in decided["evidence"]["components"]["op-node"]


def test_missing_data_gives_empty_facts_not_errors() -> None:
    decided = elevated_errors_cause({}, {}, None, None)
    assert decided["cause"] == "unread" and decided["components"] == [] and decided["top"] == []
    assert decided["not_read"] == ["public RPC: no answer"]
    assert decided["evidence"]["public_rpc"] == "not measured: no answer"
    partial = elevated_errors_cause({"components": [{"key": "op_node", "logs": None, "log_pod": "p"}],
                                     "rpc": RPC_OK}, {"window_seconds": 60}, 0.05, CATALOG)
    assert partial["cause"] == "baseline" and partial["components"][0]["levels"]["errors"]["count"] == 0
