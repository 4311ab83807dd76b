"""bridge-stalled end to end: break the lab, run the real `jeju-play bridge-stalled`, assert on the lab afterwards.

Assertions read the chains (the portal's TransactionDeposited events on L1 and the deposit transactions on L2,
op-node's sync status, the oracle, balances and nonces), the Kubernetes objects and the run record; never the
playbook's own words. A deposit's L2 transaction is found from its L1 event with the lab's own derivation code
(jeju_lab.sim.deposits), independent of the collection's. No `jeju-play drill` here (it restarts the lab): each fix
test applies the drill's outside check (the fault's `recovered`) instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from jeju_lab.anvil import rpc_call
from jeju_lab.chains import accounts
from jeju_lab.faults import FAULTS
from jeju_lab.sim.deposits import TRANSACTION_DEPOSITED, Deposit
from tests.e2e.network_down_lab import op_node_env, reset_op_node
from tests.support import LabHandle, artifact, blocks_flow, classification, kube, run_cli, run_incident, wait_until

NS = "op-stack"
L1_ENV = "OP_NODE_L1_ETH_RPC"
VARS_FILE = Path(__file__).resolve().parents[2] / "inventories" / "local" / "group_vars" / "all" / "vars.yml"
WINDOW_BLOCKS = 5  # inventories/local: jeju_bridge_stalled.deposit_window_blocks
OUTPUT_STALL_SECONDS = 8  # output_stall_seconds for the overdue-output test (the lab inventory's 90 s is long)
PAUSE = "0x6da66355"  # pause(string)
UNPAUSE = "0x3f4ba83a"  # unpause()
FREEZE = "jeju-play-freeze"


# -- what the tests observe ------------------------------------------------------------------------------------
def endpoint(lab: LabHandle, name: str) -> str:
    return str(lab.state["endpoints"][name])


def address(lab: LabHandle, name: str) -> str:
    return str(lab.state["deployment"][name])


def l1_head(lab: LabHandle) -> int:
    return int(str(rpc_call(endpoint(lab, "l1_anvil"), "eth_blockNumber")), 16)


def deposits(lab: LabHandle, from_block: int = 0) -> list[Deposit]:
    """The portal's TransactionDeposited events on L1 (the L1 anvil itself), as the deposits they are."""
    head = l1_head(lab)
    if from_block > head:
        return []
    logs = rpc_call(endpoint(lab, "l1_anvil"), "eth_getLogs", [{
        "address": address(lab, "optimism_portal"), "topics": [TRANSACTION_DEPOSITED], "fromBlock": hex(from_block),
        "toBlock": hex(head)}])
    assert isinstance(logs, list)
    return [Deposit.from_log(log) for log in logs]


def on_l2(lab: LabHandle, deposit: Deposit) -> bool:
    """Whether the deposit's transaction is on L2 (the L2 anvil has its receipt)."""
    return rpc_call(endpoint(lab, "l2_anvil"), "eth_getTransactionReceipt", [deposit.tx_hash]) is not None


def stuck_deposits(lab: LabHandle) -> list[Deposit]:
    """Deposits older than the inventory's window that are not on L2."""
    head = l1_head(lab)
    return [d for d in deposits(lab, max(0, head - 60)) if head - d.l1_block >= WINDOW_BLOCKS and not on_l2(lab, d)]


def sync_status(lab: LabHandle) -> dict[str, Any]:
    status = rpc_call(endpoint(lab, "op_node_rpc_url"), "optimism_syncStatus")
    assert isinstance(status, dict)
    return status


def l2_balance(lab: LabHandle, who: str) -> int:
    return int(str(rpc_call(endpoint(lab, "l2_anvil"), "eth_getBalance", [who, "latest"])), 16)


def deployment_versions(lab: LabHandle) -> dict[str, str]:
    return {d.metadata.name: d.metadata.resource_version
            for d in kube(lab).apps.list_namespaced_deployment(NS).items}


def pods(lab: LabHandle, app: str) -> set[str]:
    found = kube(lab).core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={app}").items
    return {p.metadata.name for p in found}


def l1_nonce(lab: LabHandle, who: str) -> int:
    return int(str(rpc_call(endpoint(lab, "l1_anvil"), "eth_getTransactionCount", [who, "latest"])), 16)


def paused(lab: LabHandle) -> bool:
    answer = rpc_call(endpoint(lab, "l1_anvil"), "eth_call", [{"to": address(lab, "optimism_portal"),
                                                               "data": "0x5c975abb"}, "latest"])
    return int(str(answer), 16) == 1


def unchangeable(lab: LabHandle) -> dict[str, Any]:
    """What a --check run must leave as it was: every Deployment, op-node's L1 RPC, the pause and the keys' nonces."""
    return {"deployments": deployment_versions(lab), "op_node_l1": op_node_env(lab).get(L1_ENV),
            "paused": paused(lab), "funding_nonce": l1_nonce(lab, accounts.FUNDING_WALLET.address),
            "safe_nonce": safe_nonce(lab)}


def safe_nonce(lab: LabHandle) -> int:
    answer = rpc_call(endpoint(lab, "l1_anvil"), "eth_call", [{"to": address(lab, "guardian_safe"),
                                                               "data": "0xaffed0e0"}, "latest"])  # nonce()
    return int(str(answer), 16)


def summary(record: Path) -> dict[str, Any]:
    return dict(json.loads((record / "summary.json").read_text()))


def thresholds(**changes: int) -> str:
    return "jeju_thresholds=" + json.dumps(yaml.safe_load(VARS_FILE.read_text())["jeju_thresholds"] | changes)


def bridge_stalled(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "bridge-stalled", *args, timeout=300)


@pytest.fixture
def bs_lab(lab: LabHandle) -> Iterator[LabHandle]:
    """The session lab with op-node on the primary L1 and deposits landing on L2; healed and reset afterwards."""
    reset_op_node(lab)
    start = l1_head(lab)
    wait_until(lambda: any(on_l2(lab, d) for d in deposits(lab, start)), "a new deposit on L2", limit=30)
    yield lab
    lab.lab.heal()
    reset_op_node(lab)


def check_changes_nothing(lab: LabHandle, *args: str, exit_code: int = 0) -> Path:
    """`--check` shows the plan (exit 0; 3 when the plan is an escalation, which check mode makes too) and
    changes nothing."""
    before = unchangeable(lab)
    checked, record = bridge_stalled(lab, "--check", *args)
    assert checked.returncode == exit_code, checked.stdout + checked.stderr
    assert unchangeable(lab) == before
    assert all(g.get("decision") == "would ask (check mode)" for g in summary(record)["gates"])
    return record


# -- healthy ---------------------------------------------------------------------------------------------------
def test_flowing_bridge_is_healthy_and_nothing_changes(bs_lab: LabHandle) -> None:
    before = unchangeable(bs_lab)
    done, record = bridge_stalled(bs_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "flowing"
    assert summary(record)["gates"] == []
    assert unchangeable(bs_lab) == before


# -- deposits-stuck: op-node's L1 RPC lags -> network-down's L1 switch ---------------------------------------------
def test_deposits_stuck_check_plans_the_l1_switch_then_the_run_includes_them(bs_lab: LabHandle) -> None:
    lab = bs_lab
    lab.lab.break_fault("deposits-stuck")
    frozen_origin = int(sync_status(lab)["unsafe_l2"]["l1origin"]["number"])
    wait_until(lambda: stuck_deposits(lab), "a deposit older than the window and not on L2", limit=40)
    assert blocks_flow(lab, 2), "op-node still seals blocks"
    assert int(sync_status(lab)["current_l1"]["number"]) <= frozen_origin < l1_head(lab) - WINDOW_BLOCKS

    record = check_changes_nothing(lab)
    assert classification(record) == "l1_stale"
    assert [g["kind"] for g in summary(record)["gates"]] == ["change", "patch"]
    stuck = stuck_deposits(lab)
    assert stuck, "--check included nothing"

    bob_before = l2_balance(lab, accounts.USER_BOB.address)
    done, record = bridge_stalled(lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "l1_stale"
    primary, backup = lab.state["endpoints"]["l1_rpc_urls"]
    assert op_node_env(lab)[L1_ENV] == backup != primary
    assert all(on_l2(lab, d) for d in stuck), "the deposits that were stuck are on L2"
    assert l2_balance(lab, accounts.USER_BOB.address) >= bob_before + sum(d.value for d in stuck)
    assert int(sync_status(lab)["unsafe_l2"]["l1origin"]["number"]) >= l1_head(lab) - WINDOW_BLOCKS
    gates = summary(record)["gates"]
    assert [(g["kind"], g["decision"]) for g in gates] == [("change", "approved"), ("patch", "approved")]
    handover = json.loads(artifact(record, "handover.json"))
    assert (handover["from"], handover["cause"], handover["to"]) == ("bridge-stalled", "l1_stale", "network-down")
    assert "OP_NODE_L1_ETH_RPC" in artifact(record, "drift.yml")
    verdict = FAULTS["deposits-stuck"].recovered(lab.lab)  # what `jeju-play drill` checks from outside
    assert verdict.recovered, verdict.problems


def test_without_approval_the_run_ends_with_the_command(bs_lab: LabHandle) -> None:
    lab = bs_lab
    lab.lab.break_fault("deposits-stuck")
    wait_until(lambda: stuck_deposits(lab), "a deposit older than the window and not on L2", limit=40)
    before = unchangeable(lab)
    done, record = bridge_stalled(lab, "-e", "jeju_gate_timeout_seconds=1")
    assert done.returncode == 3, done.stdout + done.stderr
    result = summary(record)
    assert result["escalation"]["advice"] == "Run `jeju-play network-down -i local`"
    assert [(g["kind"], g["decision"]) for g in result["gates"]] == [("change", "refused")]
    assert unchangeable(lab) == before
    assert stuck_deposits(lab), "nothing was switched: deposits are still stuck"


# -- withdrawals-stuck: outputs stop -> proposer-stuck's procedure --------------------------------------------------
def output_age(lab: LabHandle) -> int:
    l1 = endpoint(lab, "l1_anvil")
    oracle = address(lab, "l2_output_oracle")
    index = int(str(rpc_call(l1, "eth_call", [{"to": oracle, "data": "0x69f16eec"}, "latest"])), 16)
    raw = str(rpc_call(l1, "eth_call", [{"to": oracle, "data": "0xa25ae557" + f"{index:064x}"}, "latest"]))
    block = rpc_call(l1, "eth_getBlockByNumber", ["latest", False])
    assert isinstance(block, dict)
    return int(str(block["timestamp"]), 16) - int(raw[2 + 64:2 + 128], 16)


def latest_output_index(lab: LabHandle) -> int:
    answer = rpc_call(endpoint(lab, "l1_anvil"), "eth_call", [{"to": address(lab, "l2_output_oracle"),
                                                               "data": "0x69f16eec"}, "latest"])
    return int(str(answer), 16)


def test_overdue_outputs_go_on_into_proposer_stuck(bs_lab: LabHandle) -> None:
    lab = bs_lab
    lab.lab.break_fault("withdrawals-stuck")
    partitioned = pods(lab, "op-proposer")
    # A proposal the proposer sent just before the partition still lands in the next L1 blocks (seen in CI: a
    # fresh output at the check): the output counts as overdue only once three L1 blocks have passed.
    broken_at = l1_head(lab)
    wait_until(lambda: l1_head(lab) >= broken_at + 3 and output_age(lab) > OUTPUT_STALL_SECONDS + 2,
               "an overdue output, three L1 blocks after the partition", limit=60)
    record = check_changes_nothing(lab, "-e", thresholds(output_stall_seconds=OUTPUT_STALL_SECONDS))
    assert classification(record) == "outputs_stalled"

    index = latest_output_index(lab)
    done, record = bridge_stalled(lab, "--yes", "-e", thresholds(output_stall_seconds=OUTPUT_STALL_SECONDS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "outputs_stalled"
    assert artifact(record, "classification-round-2").splitlines()[0] == "op_node_unreachable"
    assert partitioned.isdisjoint(pods(lab, "op-proposer")), "op-proposer was restarted"
    assert latest_output_index(lab) > index
    assert [g["kind"] for g in summary(record)["gates"]] == ["change", "restart"]
    handover = json.loads(artifact(record, "handover.json"))
    assert (handover["to"], handover["found"]["cause"]) == ("proposer-stuck", "op_node_unreachable")
    verdict = FAULTS["withdrawals-stuck"].recovered(lab.lab)
    assert verdict.recovered, verdict.problems


# -- the safe head stalls (batcher unfunded) -> batcher-failing's procedure ----------------------------------------
def safe_lag_seconds(lab: LabHandle) -> int:
    status = sync_status(lab)
    return int(status["unsafe_l2"]["timestamp"]) - int(status["safe_l2"]["timestamp"])


def test_stalled_safe_head_goes_on_into_batcher_failing(bs_lab: LabHandle) -> None:
    lab = bs_lab
    lab.lab.break_fault("batcher-unfunded")
    wait_until(lambda: safe_lag_seconds(lab) > 20, "a safe head 20 s behind the unsafe head", limit=60)
    record = check_changes_nothing(lab)
    assert classification(record) == "batches_stalled"

    batcher = address(lab, "batcher")
    nonce = l1_nonce(lab, batcher)
    done, record = bridge_stalled(lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "batches_stalled"
    assert artifact(record, "classification-round-2").splitlines()[0] == "unfunded"
    balance = int(str(rpc_call(endpoint(lab, "l1_anvil"), "eth_getBalance", [batcher, "latest"])), 16)
    assert balance > 10**18, "the batcher was topped up"
    assert l1_nonce(lab, batcher) > nonce, "batches land again"
    assert "transfer" in [g["kind"] for g in summary(record)["gates"]]
    wait_until(lambda: safe_lag_seconds(lab) < 15, "the safe head following again", limit=40)


# -- the chain halted -> network-down's procedure -------------------------------------------------------------------
def test_halted_chain_goes_on_into_network_down(bs_lab: LabHandle) -> None:
    lab = bs_lab
    lab.lab.break_fault("sequencer-crash")
    crashing = pods(lab, "op-node")
    wait_until(lambda: not blocks_flow(lab, 1, within=3), "no new L2 block", limit=30)
    done, record = bridge_stalled(lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "chain_halted"
    assert artifact(record, "classification-round-2").splitlines()[0] == "crash"
    assert crashing.isdisjoint(pods(lab, "op-node")), "op-node was restarted"
    assert blocks_flow(lab, 2)
    assert json.loads(artifact(record, "handover.json"))["to"] == "network-down"
    verdict = FAULTS["deposits-stuck"].recovered(lab.lab)
    assert verdict.recovered, verdict.problems


# -- paused: by someone else (security-breach), or under our freeze (expected) --------------------------------------
def as_guardian(lab: LabHandle, data: str) -> None:
    """The guardian Safe calls the SuperchainConfig, impersonated on the L1 anvil: the Safe's nonce (and so the
    lab's pre-signed pause) stays as it was."""
    l1, safe = endpoint(lab, "l1_anvil"), address(lab, "guardian_safe")
    balance = rpc_call(l1, "eth_getBalance", [safe, "latest"])
    rpc_call(l1, "anvil_impersonateAccount", [safe])
    rpc_call(l1, "anvil_setBalance", [safe, hex(10**18)])
    try:
        tx = rpc_call(l1, "eth_sendTransaction", [{"from": safe, "to": address(lab, "superchain_config"),
                                                   "data": data, "gas": hex(200_000)}])
        wait_until(lambda: rpc_call(l1, "eth_getTransactionReceipt", [tx]) is not None, "the guardian's call mined")
    finally:
        rpc_call(l1, "anvil_stopImpersonatingAccount", [safe])
        rpc_call(l1, "anvil_setBalance", [safe, balance])


def pause_calldata(reason: str) -> str:
    from eth_abi import encode

    return PAUSE + encode(["string"], [reason]).hex()


@pytest.fixture
def paused_lab(bs_lab: LabHandle) -> Iterator[LabHandle]:
    as_guardian(bs_lab, pause_calldata("someone else"))
    assert paused(bs_lab)
    try:
        yield bs_lab
    finally:
        try:
            kube(bs_lab).core.delete_namespaced_config_map(FREEZE, NS)
        except ApiException as exc:
            if exc.status != 404:
                raise
        as_guardian(bs_lab, UNPAUSE)
        assert not paused(bs_lab)


def test_unexplained_pause_is_handed_to_security_breach(paused_lab: LabHandle) -> None:
    lab = paused_lab
    record = check_changes_nothing(lab, exit_code=3)
    assert classification(record) == "paused"
    before = unchangeable(lab)
    done, record = bridge_stalled(lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "paused"
    result = summary(record)
    assert result["gates"] == [] and result["escalation"]["level"] == 3
    assert "jeju-play security-breach -i local" in result["escalation"]["advice"]
    assert unchangeable(lab) == before


def test_pause_under_a_standing_freeze_is_expected(paused_lab: LabHandle) -> None:
    lab = paused_lab
    kube(lab).core.create_namespaced_config_map(NS, {
        "metadata": {"name": FREEZE, "labels": {"app.kubernetes.io/managed-by": "jeju-play",
                                                "jeju.network/freeze": "security"}},
        "data": {"state": "frozen", "frozen_by": "tester", "frozen_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "run_id": "test", "reason": "security breach response", "components": "op-node"}})
    record = check_changes_nothing(lab)
    assert classification(record) == "frozen"
    assert summary(record)["gates"] == []
    before = unchangeable(lab)
    refused = run_cli("bridge-stalled", "-i", "local", "--yes", env_extra=lab.env, timeout=120)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "blocks 'bridge-stalled'" in " ".join((refused.stdout + refused.stderr).split())
    assert unchangeable(lab) == before
