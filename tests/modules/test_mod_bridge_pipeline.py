"""jeju.ops.bridge_pipeline against real anvil chains: an L1 with the lab's contracts and an L2 that takes deposit
transactions (anvil --network optimism), op-node's sync status from a small stub; run as Ansible runs modules."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import dead_url

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.chains.accounts import USER_BOB
from jeju_lab.chains.deploy import L1_CHAIN_ID, L1Deployment, deploy_l1
from jeju_lab.depositor import Depositor
from jeju_lab.sim.deposits import TRANSACTION_DEPOSITED, Deposit
from tests.support import wait_until

L2_CHAIN_ID = 420690


@pytest.fixture(scope="module")
def l1() -> Iterator[AnvilNode]:
    node = AnvilNode(chain_id=L1_CHAIN_ID).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def lagging_l1() -> Iterator[AnvilNode]:
    """Another node of the same chain that stopped syncing: it has fewer blocks."""
    node = AnvilNode(chain_id=L1_CHAIN_ID).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def l2() -> Iterator[AnvilNode]:
    node = AnvilNode(chain_id=L2_CHAIN_ID, extra_args=["--network", "optimism"]).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def deployment(l1: AnvilNode) -> L1Deployment:
    return deploy_l1(l1.url)


class SyncStatus(BaseHTTPRequestHandler):
    status: dict[str, Any] = {}

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": self.status}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def op_node() -> Iterator[type[SyncStatus]]:
    """op-node's optimism_syncStatus, as the test sets it."""
    handler = type("Handler", (SyncStatus,), {"status": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()


def ref(number: int, timestamp: int = 0, origin: int | None = None) -> dict[str, Any]:
    found = {"hash": "0x" + "00" * 32, "number": number, "parentHash": "0x" + "00" * 32, "timestamp": timestamp}
    return found | ({"l1origin": {"hash": "0x" + "00" * 32, "number": origin}} if origin is not None else {})


def head(url: str) -> int:
    return int(str(rpc_call(url, "eth_blockNumber")), 16)


def deposit_events(l1: AnvilNode, deployment: L1Deployment, from_block: int) -> list[Deposit]:
    logs = rpc_call(l1.url, "eth_getLogs", [{"address": deployment.optimism_portal, "topics": [TRANSACTION_DEPOSITED],
                                             "fromBlock": hex(from_block), "toBlock": "latest"}])
    assert isinstance(logs, list)
    return [Deposit.from_log(log) for log in logs]


def include_on_l2(l2: AnvilNode, deposit: Deposit) -> None:
    """Send a deposit transaction to L2 and wait until it is mined (the next one takes the sender's next nonce)."""
    tx_hash = rpc_call(l2.url, "eth_sendRawTransaction", ["0x" + deposit.raw().hex()])
    wait_until(lambda: rpc_call(l2.url, "eth_getTransactionReceipt", [tx_hash]) is not None,
               f"deposit {tx_hash} mined on L2", limit=10, every=0.05)


def args(l1: AnvilNode, l2: AnvilNode, deployment: L1Deployment, op_node_url: str, **extra: Any) -> dict[str, Any]:
    return {"l1_rpc_urls": [l1.url], "l1_chain_id": L1_CHAIN_ID, "l2_rpc_urls": [l2.url], "l2_chain_id": L2_CHAIN_ID,
            "op_node_rpc_url": op_node_url, "optimism_portal": deployment.optimism_portal,
            "superchain_config": deployment.superchain_config, "l2_output_oracle": deployment.l2_output_oracle,
            "window_blocks": 2, **extra}


def test_deposits_are_matched_on_l2_by_the_hash_their_event_gives(l1, l2, deployment, op_node, run_module):
    start = head(l1.url) + 1
    for _ in range(3):
        Depositor().deposit_once(l1.url, deployment.optimism_portal)
    made = deposit_events(l1, deployment, start)
    assert len(made) == 3
    for deposit in made[:2]:  # the sequencer included the first two, one after the other as it does
        include_on_l2(l2, deposit)
    for _ in range(3):
        rpc_call(l1.url, "evm_mine")
    op_node.status = {"head_l1": ref(head(l1.url)), "current_l1": ref(head(l1.url)),
                      "unsafe_l2": ref(5, 0, head(l1.url)), "safe_l2": ref(4), "finalized_l2": ref(3)}

    result = run_module("bridge_pipeline", from_block=start, **args(l1, l2, deployment, op_node.url))
    assert result["_rc"] == 0 and result["changed"] is False
    found = result["deposits"]
    assert [d["l2_tx_hash"] for d in found] == [d.tx_hash for d in made]
    assert [d["included"] for d in found] == [True, True, False]
    assert all(d["due"] for d in found) and found[0]["l2_block"] is not None
    assert found[0]["to"] == USER_BOB.address and found[0]["mint_wei"] == str(made[0].mint)
    window = result["window"]
    assert (window["seen"], window["included"], window["due"], window["missing"]) == (3, 2, 3, 1)
    assert window["oldest_missing"]["l2_tx_hash"] == made[2].tx_hash
    assert result["paused"] == {"portal": False, "superchain_config": False, "guardian": deployment.guardian_safe}
    assert result["oracle"]["proposed"] is False  # nothing proposed on this L1
    assert result["op_node"]["lag_blocks"] == {"head_l1": 0, "current_l1": 0, "unsafe_l1_origin": 0}


def test_a_lagging_l1_endpoint_is_reported_and_the_freshest_answers(l1, lagging_l1, l2, deployment, op_node,
                                                                    run_module):
    behind = head(l1.url) - head(lagging_l1.url)
    assert behind > 0
    op_node.status = {"head_l1": ref(head(lagging_l1.url)), "current_l1": ref(head(lagging_l1.url)),
                      "unsafe_l2": ref(9, 0, head(lagging_l1.url)), "safe_l2": ref(8), "finalized_l2": ref(7)}
    result = run_module("bridge_pipeline", check=True, scan_blocks=10, **args(l1, l2, deployment, op_node.url,
                                                                            l1_rpc_urls=[lagging_l1.url, l1.url]))
    assert result["_rc"] == 0
    primary, backup = result["l1"]["endpoints"]
    assert (primary["role"], primary["lag_blocks"], backup["lag_blocks"]) == ("primary", behind, 0)
    assert result["l1"]["endpoint"] == l1.url and result["l1"]["head"] == head(l1.url)
    assert result["op_node"]["lag_blocks"]["head_l1"] == behind
    assert result["window"]["to_block"] == head(l1.url)


def test_a_paused_superchain_config_is_read(l1, l2, deployment, op_node, run_module):
    safe = deployment.guardian_safe
    rpc_call(l1.url, "anvil_impersonateAccount", [safe])
    rpc_call(l1.url, "anvil_setBalance", [safe, hex(10**18)])
    pause = "0x6da66355" + "20".rjust(64, "0") + "1".rjust(64, "0") + "78".ljust(64, "0")  # pause("x")
    rpc_call(l1.url, "eth_sendTransaction", [{"from": safe, "to": deployment.superchain_config, "data": pause}])
    try:
        result = run_module("bridge_pipeline", **args(l1, l2, deployment, op_node.url))
        assert result["paused"]["portal"] is True and result["paused"]["superchain_config"] is True
    finally:
        rpc_call(l1.url, "eth_sendTransaction", [{"from": safe, "to": deployment.superchain_config,
                                                  "data": "0x3f4ba83a"}])  # unpause()
        rpc_call(l1.url, "anvil_stopImpersonatingAccount", [safe])


def test_endpoints_that_do_not_answer_are_facts_not_failures(l1, deployment, run_module):
    dead = dead_url()
    result = run_module("bridge_pipeline", **args(l1, l1, deployment, dead,
                                                  l2_rpc_urls=[dead]))
    assert result["_rc"] == 0
    assert result["op_node"]["reachable"] is False and "unreachable" in result["op_node"]["error"]
    assert result["l2"]["ok"] is False
    assert all(d["included"] is None for d in result["deposits"])
    assert result["window"]["missing"] == 0  # unknown is not missing
    nothing = run_module("bridge_pipeline", **args(l1, l1, deployment, dead, l1_rpc_urls=[dead]))
    assert nothing["_rc"] == 0 and nothing["l1"]["ok"] is False and dead in nothing["l1"]["error"]


def test_wrong_chain_ids_and_bad_arguments(l1, l2, deployment, op_node, run_module):
    wrong = run_module("bridge_pipeline", **args(l1, l2, deployment, op_node.url, l1_chain_id=1))
    assert wrong["_rc"] == 0 and wrong["l1"]["ok"] is False
    assert "serves chain id 8453 but expect_chain_id is 1" in wrong["l1"]["endpoints"][0]["error"]
    bad = run_module("bridge_pipeline", **args(l1, l2, deployment, op_node.url, optimism_portal="0x1234"))
    assert bad["failed"] and "optimism_portal '0x1234' is not an Ethereum address" in bad["msg"]
    zero = run_module("bridge_pipeline", **args(l1, l2, deployment, op_node.url, window_blocks=0))
    assert zero["failed"] and "window_blocks must be at least 1" in zero["msg"]
