"""Every module through real ansible-playbook / ansible-runner with its FQCN, and no key in anything written."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import ansible_runner
from conftest import dead_url, module_env, run_playbook

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import deploy_l1

FUNDING_KEY = accounts.FUNDING_WALLET.private_key()


def test_read_modules_and_filters_by_fqcn(collections, tmp_path, fresh_anvil, op_node_url):
    l1 = AnvilNode(chain_id=8453).start()
    try:
        d = deploy_l1(l1.url)
        urls = [dead_url(), l1.url]
        tasks = [
            {"name": "Head", "jeju.ops.chain_head": {"rpc_urls": urls, "expect_chain_id": 8453}, "register": "head"},
            {"name": "Balances", "jeju.ops.account_balance": {"rpc_urls": urls, "accounts": {
                "batcher": d.batcher, "proposer": d.proposer}, "min_balance_eth": 1}, "register": "bal"},
            {"name": "Fees", "jeju.ops.fee_market": {"rpc_urls": urls, "max_gas_price_gwei": 500}, "register": "fees"},
            {"name": "Batches", "jeju.ops.batch_activity": {"rpc_urls": urls, "batcher": d.batcher,
                                                          "batch_inbox": d.batch_inbox}, "register": "batches"},
            {"name": "Probe", "jeju.ops.rpc_probe": {"url": l1.url, "samples": 4, "threshold_ms": 2000,
                                                  "rounds": 2}, "register": "probe"},
            {"name": "Oracle", "jeju.ops.output_oracle": {"rpc_urls": urls, "address": d.l2_output_oracle},
             "register": "oracle"},
            {"name": "Safe", "jeju.ops.safe_tx": {"rpc_urls": urls, "address": d.guardian_safe, "action": "hash",
                                                 "to": d.superchain_config, "pause": "x"}, "register": "safe"},
            {"name": "op-node", "jeju.ops.op_node": {"rpc_url": op_node_url, "action": "sync_status"},
             "register": "node"},
            {"name": "Facts", "ansible.builtin.copy": {"dest": str(tmp_path / "facts.json"), "content": (
                '{{ {"head": head.chain_id, "endpoint": head.endpoint, "below": bal.below_min,'
                ' "batcher_eth": bal.balances.batcher.wei | jeju.ops.to_eth,'
                ' "gwei": fees.gas_price_wei | jeju.ops.to_gwei,'
                ' "wei": "1.5" | jeju.ops.to_wei, "batches": batches.batches_in_window, "degraded": probe.degraded,'
                ' "oracle": oracle.latest_index, "safe": safe.safe_tx_hash,'
                ' "unsafe": node.unsafe_l2_number} | to_json }}')}},
        ]
        done = run_playbook(collections, tmp_path, tasks)
        assert done.returncode == 0, done.stdout + done.stderr
        facts = json.loads((tmp_path / "facts.json").read_text())
        assert facts["head"] == 8453 and facts["endpoint"] == l1.url and facts["below"] == []
        assert facts["batcher_eth"] > 1 and facts["wei"] == 15 * 10**17 and facts["oracle"] is None
        assert facts["batches"] == 0 and facts["degraded"] is False and facts["safe"].startswith("0x")
        assert facts["unsafe"] == 0
    finally:
        l1.stop()


def test_fund_account_by_fqcn_leaves_no_key_in_output_events_or_files(collections, tmp_path, fresh_anvil):
    batcher = "0x" + "ba" * 20
    key_file = tmp_path / "secrets" / "funding.key"
    key_file.parent.mkdir()
    key_file.write_text(FUNDING_KEY)
    ledger = tmp_path / "ledger.jsonl"
    common = {"rpc_urls": [fresh_anvil.url], "expect_chain_id": 901, "to": "batcher",
              "allowed_recipients": {"batcher": batcher}, "max_transfer_eth": "5", "daily_cap_eth": "10",
              "run_id": "{{ jeju_run_id }}", "ledger_path": str(ledger)}
    tasks = [
        {"name": "Top up (key from a no_log variable)", "jeju.ops.fund_account": dict(
            common, target_balance_eth="2", signer_key="{{ vault_funding_key }}"), "register": "first"},
        {"name": "Top up again (key from a file)", "jeju.ops.fund_account": dict(
            common, target_balance_eth="3", intent="second", signer_key_file=str(key_file))},
        {"name": "Refused: bad key shape", "jeju.ops.fund_account": dict(
            common, target_balance_eth="4", intent="third", signer_key="{{ vault_funding_key }}zz"),
         "ignore_errors": True},
        {"name": "Show", "ansible.builtin.debug": {"var": "first"}},
    ]
    private = tmp_path / "runner"
    (private / "project").mkdir(parents=True)
    (private / "project" / "play.yml").write_text(json.dumps(
        [{"name": "fund", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": sys.executable}}}}
    env = module_env(collections)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = ansible_runner.run(
        private_data_dir=str(private), playbook="play.yml", inventory=inventory, quiet=True,
        extravars={"jeju_run_id": "run-42", "vault_funding_key": FUNDING_KEY}, verbosity=3,
        envvars={k: env[k] for k in ("PATH", "PYTHONPATH", "ANSIBLE_CONFIG")},
    )
    assert result.rc == 0, result.stdout.read()
    events = list(result.events)
    first = next(e for e in events if e["event"] == "runner_on_ok" and e["event_data"]["task"].startswith("Top up ("))
    assert first["event_data"]["res"]["amount_wei"] == 2 * 10**18
    assert int(rpc_call(fresh_anvil.url, "eth_getBalance", [batcher, "latest"]), 16) == 3 * 10**18
    assert json.loads(ledger.read_text().splitlines()[0])["intent"].lower() == f"run-42:{batcher}"
    secret = FUNDING_KEY[2:]
    written = [p for p in [*private.rglob("*"), ledger] if p.is_file() and "env" not in p.relative_to(tmp_path).parts
               and p != key_file]
    leaks = [str(p) for p in written if secret in p.read_text(errors="ignore")]
    assert leaks == []
    assert secret not in json.dumps(events)
