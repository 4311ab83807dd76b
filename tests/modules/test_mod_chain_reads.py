"""Read-only modules against real anvil chains, run as Ansible runs them (module file + args file)."""

from __future__ import annotations

import json
import time

import pytest
from conftest import dead_url, run_playbook

from jeju_lab.anvil import AnvilNode, rpc_call

ETHER = 10**18
INBOX = "0xff00000000000000000000000000000000420690"


def test_chain_head_fails_over_from_a_dead_endpoint(anvil, run_module):
    dead = dead_url()
    result = run_module("chain_head", rpc_urls=[dead, anvil.url], expect_chain_id=31337)
    assert result["_rc"] == 0 and result["chain_id"] == 31337
    assert result["endpoint"] == anvil.url
    tried = {row["url"]: row for row in result["endpoints_tried"]}
    assert tried[dead]["error"].startswith("unreachable") and tried[anvil.url]["error"] is None
    assert result["rpc_round_trips"] == 2  # the dead one, then one batched request
    assert result["stalled"] is False


def test_a_wrong_chain_id_is_refused_naming_both(anvil, run_module):
    result = run_module("chain_head", rpc_urls=[anvil.url], expect_chain_id=8453)
    assert result["failed"] and "serves chain id 31337 but expect_chain_id is 8453" in result["msg"]


def test_a_live_chain_is_not_stalled_while_watched(anvil, run_module):
    result = run_module("chain_head", rpc_urls=[anvil.url], watch_seconds=2.2, stalled_after=30)
    assert result["blocks_advanced"] >= 1 and result["stalled"] is False


def test_a_chain_whose_mining_stopped_is_stalled(fresh_anvil, run_module):
    rpc_call(fresh_anvil.url, "evm_setAutomine", [False])
    rpc_call(fresh_anvil.url, "evm_setIntervalMining", [0])
    watched = run_module("chain_head", rpc_urls=[fresh_anvil.url], watch_seconds=1.2)
    assert watched["blocks_advanced"] == 0 and watched["stalled"] is True
    time.sleep(1.1)
    by_age = run_module("chain_head", rpc_urls=[fresh_anvil.url], stalled_after=1)
    assert by_age["stalled"] is True and by_age["age_seconds"] > 1


def test_account_balance_lists_the_accounts_below_their_minimum(fresh_anvil, run_module):
    low, rich = "0x" + "11" * 20, "0x" + "22" * 20
    rpc_call(fresh_anvil.url, "anvil_setBalance", [low, hex(ETHER // 2)])
    rpc_call(fresh_anvil.url, "anvil_setBalance", [rich, hex(3 * ETHER)])
    result = run_module("account_balance", rpc_urls=[dead_url(), fresh_anvil.url], expect_chain_id=901,
                        accounts={"batcher": low, "proposer": rich}, min_balance_eth={"batcher": 2, "proposer": "2.5"})
    assert result["below_min"] == ["batcher"]
    assert result["balances"]["batcher"]["wei"] == ETHER // 2 and result["balances"]["batcher"]["eth"] == 0.5
    assert result["balances"]["proposer"]["below_min"] is False
    assert "batcher has 0.5 ETH (minimum 2.0 ETH)" in result["summary"]
    everyone = run_module("account_balance", rpc_urls=[fresh_anvil.url], accounts={"a": low, "b": rich},
                          min_balance_eth=5)
    assert everyone["below_min"] == ["a", "b"]


def test_fee_market_reports_wei_and_gwei_and_above_max(fresh_anvil, run_module):
    rpc_call(fresh_anvil.url, "anvil_setNextBlockBaseFeePerGas", [hex(150 * 10**9)])
    rpc_call(fresh_anvil.url, "evm_mine", [])
    result = run_module("fee_market", rpc_urls=[fresh_anvil.url], expect_chain_id=901, max_gas_price_gwei=100)
    assert result["base_fee_wei"] == 150 * 10**9 and result["base_fee_gwei"] == 150.0
    assert result["gas_price_gwei"] > 100 and result["above_max"] is True
    assert result["priority_fee_wei"] is not None
    assert "blob_base_fee_wei" in result
    assert result["rpc_round_trips"] == 1


def test_rpc_probe_reports_percentiles_and_degradation(anvil, run_module):
    healthy = run_module("rpc_probe", url=anvil.url, samples=20, concurrency=4, threshold_ms=2000)
    assert healthy["degraded"] is False and healthy["errors"] == 0
    assert healthy["p50_ms"] <= healthy["p95_ms"] <= healthy["p99_ms"]
    broken = run_module("rpc_probe", url=anvil.url, samples=6, methods=["eth_blockNumber", "no_such_method"])
    assert broken["error_rate"] == 0.5 and broken["degraded"] is True
    assert any("error rate 50.0%" in reason for reason in broken["reasons"])
    slow = run_module("rpc_probe", url=anvil.url, samples=4, threshold_ms=0.001)
    assert slow["degraded"] is True and "p95" in slow["reasons"][0]


@pytest.fixture
def batch_chain():
    """A chain where the batcher sent three batches long ago, then one recent batch and one other tx."""
    node = AnvilNode(chain_id=8453).start()
    try:
        url = node.url
        batcher, other = rpc_call(url, "eth_accounts")[1:3]
        rpc_call(url, "evm_setAutomine", [False])
        for _ in range(3):
            rpc_call(url, "eth_sendTransaction", [{"from": batcher, "to": INBOX, "data": "0x00aa"}])
            rpc_call(url, "anvil_mine", [hex(40), hex(2)])
        rpc_call(url, "evm_increaseTime", [3600])
        rpc_call(url, "anvil_mine", [hex(5), hex(2)])
        rpc_call(url, "eth_sendTransaction", [{"from": batcher, "to": INBOX, "data": "0x00bb"}])
        rpc_call(url, "anvil_mine", [hex(3), hex(2)])
        rpc_call(url, "eth_sendTransaction", [{"from": batcher, "to": other, "value": "0x1"}])
        rpc_call(url, "anvil_mine", [hex(2), hex(2)])
        yield node, batcher
    finally:
        node.stop()


def test_batch_activity_finds_the_last_batch_by_nonce(batch_chain, run_module):
    node, batcher = batch_chain
    result = run_module("batch_activity", rpc_urls=[node.url], expect_chain_id=8453, batcher=batcher,
                        batch_inbox=INBOX, window_seconds=600)
    assert result["batcher_nonce"] == 5
    assert result["batches_in_window"] == 2  # the recent batch and the transfer (nonce delta)
    last = result["last_batch"]
    assert last["nonce"] == 3 and last["age_seconds"] >= 4
    tx = rpc_call(node.url, "eth_getTransactionByHash", [last["hash"]])
    assert tx["to"].lower() == INBOX and tx["input"] == "0x00bb"
    assert result["rpc_round_trips"] <= 10  # a search, not a scan of 130 blocks
    quiet = run_module("batch_activity", rpc_urls=[node.url], batcher=rpc_call(node.url, "eth_accounts")[4],
                       batch_inbox=INBOX, window_seconds=600)
    assert quiet["last_batch"] is None and quiet["batches_in_window"] == 0


@pytest.fixture
def slow_burst():
    """A JSON-RPC endpoint whose first four answers take 2 s (a burst), then answers at once."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    served = {"count": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                served["count"] += 1
                slow = served["count"] <= 4
            if slow:
                time.sleep(2.0)
            calls = body if isinstance(body, list) else [body]
            answer = [{"jsonrpc": "2.0", "id": c["id"], "result": "0x10"} for c in calls]
            data = json.dumps(answer if isinstance(body, list) else answer[0]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def test_rpc_probe_measures_a_slow_round_again_and_one_burst_is_not_degraded(slow_burst, run_module):
    url, served = slow_burst
    once = run_module("rpc_probe", url=url, samples=4, concurrency=4, threshold_ms=1500, methods=["eth_blockNumber"])
    assert once["degraded"] is True and len(once["rounds"]) == 1  # the burst, measured once
    confirmed = run_module("rpc_probe", url=url, samples=4, concurrency=4, threshold_ms=1500, rounds=3, pause=0.1,
                           methods=["eth_blockNumber"])
    assert confirmed["degraded"] is False and confirmed["reasons"] == []
    assert [r["degraded"] for r in confirmed["rounds"]] == [False]  # the burst is over: one round is enough
    served["count"] = 0  # a new burst
    again = run_module("rpc_probe", url=url, samples=4, concurrency=4, threshold_ms=1500, rounds=3, pause=0.1,
                       methods=["eth_blockNumber"])
    assert [r["degraded"] for r in again["rounds"]] == [True, False] and again["degraded"] is False
    slow = run_module("rpc_probe", url=url, samples=2, threshold_ms=0.001, rounds=2, pause=0.1,
                      methods=["eth_blockNumber"])
    assert slow["degraded"] is True and [r["degraded"] for r in slow["rounds"]] == [True, True]
    assert run_module("rpc_probe", url=url, rounds=0)["msg"] == "samples, concurrency and rounds must be at least 1"


# -- jeju.ops.chain_reads: several reads in one task, at once ------------------------------------------------
def _chain_reads(collections, tmp_path, reads, check=False):
    """One jeju.ops.chain_reads task under ansible-playbook; (the run, its registered result or None)."""
    out = tmp_path / "chain-reads.json"
    out.unlink(missing_ok=True)
    tasks = [{"name": "Read at once", "jeju.ops.chain_reads": {"reads": reads}, "register": "reads",
              "ignore_errors": True},
             {"name": "Keep the result", "ansible.builtin.copy": {"content": "{{ reads | to_json }}",
                                                                 "dest": str(out), "mode": "0600"},
              "check_mode": False}]
    done = run_playbook(collections, tmp_path, tasks, check=check)
    return done, (json.loads(out.read_text()) if out.exists() else None)


def test_chain_reads_returns_each_read_under_its_name_and_a_dead_endpoint_fails_only_its_own(
        anvil, collections, tmp_path):
    dead = dead_url()
    before = int(str(rpc_call(anvil.url, "eth_blockNumber")), 16)
    done, result = _chain_reads(collections, tmp_path, {
        "head": {"module": "chain_head", "args": {"rpc_urls": [anvil.url], "expect_chain_id": 31337}},
        "balance": {"module": "account_balance", "args": {
            "rpc_urls": [anvil.url], "accounts": {"who": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
            "min_balance_eth": 1}},
        "gone": {"module": "chain_head", "args": {"rpc_urls": [dead]}},
    }, check=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not result.get("failed") and result["failed_reads"] == ["gone"]
    reads = result["results"]
    after = int(str(rpc_call(anvil.url, "eth_blockNumber")), 16)
    assert reads["head"]["chain_id"] == 31337 and before <= reads["head"]["number"] <= after
    assert reads["balance"]["balances"]["who"]["eth"] > 1 and reads["balance"]["below_min"] == []
    assert reads["gone"]["failed"] and "unreachable" in reads["gone"]["msg"]
    assert set(result["seconds"]) == {"head", "balance", "gone"}


def test_chain_reads_names_the_read_whose_arguments_are_wrong_and_reads_nothing(collections, tmp_path):
    done, result = _chain_reads(collections, tmp_path, {
        "head": {"module": "chain_head", "args": {"rpc_urls": [dead_url()], "stalled_afterr": 5}},
        "pay": {"module": "fund_account", "args": {}},
    })
    assert result["failed"] and "results" not in result
    assert "reads.head (chain_head)" in done.stdout  # the failed task says which read is wrong
    assert "reads.head (chain_head): " in result["msg"] and "stalled_afterr" in result["msg"]
    assert "reads.pay: module 'fund_account' is not a chain read" in result["msg"]
