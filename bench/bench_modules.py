"""Benchmark: chain_head + account_balance (4 accounts) + output_oracle against a real anvil with the lab
contracts. Reports the RPC round trips each module makes and the wall time, per module (module process, as
AnsiballZ runs it) and for the three tasks in one ansible-playbook run.

    .venv/bin/python bench/bench_modules.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from eth_abi import encode
from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import Figure, save  # noqa: E402

from jeju_lab.anvil import AnvilNode, rpc_call  # noqa: E402
from jeju_lab.chains.deploy import deploy_l1  # noqa: E402
from jeju_play.paths import collections_dir  # noqa: E402
from tests.modules.conftest import run_module_file, run_playbook  # noqa: E402

TARGET_ROUND_TRIPS = 2


def propose_one_output(url: str, oracle: str, proposer: str, l2_block: int) -> None:
    rpc_call(url, "evm_increaseTime", [60])
    rpc_call(url, "evm_mine", [])
    data = "0x" + keccak(text="proposeL2Output(bytes32,uint256,bytes32,uint256)")[:4].hex() + encode(
        ["bytes32", "uint256", "bytes32", "uint256"], [b"\x42" * 32, l2_block, b"\0" * 32, 0]).hex()
    rpc_call(url, "eth_sendTransaction", [{"from": proposer, "to": oracle, "data": data}])


def main() -> int:
    collections = collections_dir()
    node = AnvilNode(chain_id=8453).start()
    try:
        d = deploy_l1(node.url)
        propose_one_output(node.url, d.l2_output_oracle, d.proposer, d.submission_interval)
        tasks = {
            "chain_head": {"rpc_urls": [node.url], "expect_chain_id": 8453},
            "account_balance": {"rpc_urls": [node.url], "expect_chain_id": 8453, "min_balance_eth": 1, "accounts": {
                "batcher": d.batcher, "proposer": d.proposer, "challenger": d.challenger,
                "guardian_safe": d.guardian_safe}},
            "output_oracle": {"rpc_urls": [node.url], "expect_chain_id": 8453, "address": d.l2_output_oracle},
        }
        rows, ok = [], True
        with tempfile.TemporaryDirectory() as tmp:
            for name, args in tasks.items():
                started = time.perf_counter()
                result = run_module_file(collections, Path(tmp), name, args)
                elapsed = time.perf_counter() - started
                trips = result.get("rpc_round_trips")
                ok &= not result.get("failed") and trips is not None and trips <= TARGET_ROUND_TRIPS
                rows.append({"module": name, "rpc_round_trips": trips, "module_process_s": round(elapsed, 3)})
            started = time.perf_counter()
            play = run_playbook(collections, Path(tmp), [{"name": n, f"jeju.ops.{n}": a} for n, a in tasks.items()])
            playbook_s = time.perf_counter() - started
            ok &= play.returncode == 0
        save("bench_modules", [
            *[Figure("Modules: RPC round trips", r["module"], "requests", [float(r["rpc_round_trips"] or 0)],
                     target=f"<= {TARGET_ROUND_TRIPS}") for r in rows],
            *[Figure("Modules: one module process", r["module"], "s", [r["module_process_s"]]) for r in rows],
            Figure("Modules: one module process", "the three in one ansible-playbook run", "s", [playbook_s])])
        print(json.dumps({"modules": rows, "playbook_3_tasks_s": round(playbook_s, 2),
                          "target_round_trips_per_module": TARGET_ROUND_TRIPS, "met": ok}, indent=2))
        return 0 if ok else 1
    finally:
        node.stop()


if __name__ == "__main__":
    sys.exit(main())
