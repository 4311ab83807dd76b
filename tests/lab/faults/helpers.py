"""What the fault tests observe the lab with: kubectl, the kubernetes client, web3 and cast, as a user would.

`eventually` polls an observation until it holds (the lab moves in real seconds); it never asserts on
how long something took.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from kubernetes import client, config
from web3 import Web3

from jeju_lab.chains.artifacts import lab_artifact
from jeju_play.paths import node_bin
from tests.support import LabHandle

T = TypeVar("T")
NAMESPACE = "op-stack"
APP = "app.kubernetes.io/name"
ETH = 10**18
GWEI = 10**9


def eventually(observe: Callable[[], T], holds: Callable[[T], bool], what: str, within: float = 20.0,
               every: float = 0.25) -> T:
    """Poll `observe()` until `holds(value)`; fail with the last value seen."""
    deadline = time.monotonic() + within
    while True:
        value = observe()
        if holds(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {within:.0f} s; last observation: {repr(value)[:800]}")
        time.sleep(every)


def kubectl(lab: LabHandle, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": lab.kubeconfig}
    done = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=30, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


def kubectl_json(lab: LabHandle, *args: str) -> Any:
    return json.loads(kubectl(lab, *args, "-o", "json").stdout)


def logs(lab: LabHandle, deployment: str, tail: int = 200) -> str:
    """`kubectl logs deploy/X` of the newest pod (empty when none runs)."""
    done = kubectl(lab, "logs", f"deploy/{deployment}", f"--tail={tail}", check=False)
    return done.stdout


def cast(*args: str) -> str:
    done = subprocess.run([str(node_bin("cast")), *args], capture_output=True, text=True, timeout=30,
                          check=False)
    if done.returncode != 0:
        raise AssertionError(f"cast {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def api(lab: LabHandle) -> client.ApiClient:
    return config.new_client_from_config(lab.kubeconfig)


def pods(lab: LabHandle, app: str, namespace: str = NAMESPACE) -> list[Any]:
    with api(lab) as api_client:
        items = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector=f"{APP}={app}").items
    return list(items)


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def ready_pods(lab: LabHandle, app: str, namespace: str = NAMESPACE) -> list[Any]:
    return [p for p in pods(lab, app, namespace) if ready(p)]


def endpoints(lab: LabHandle) -> dict[str, Any]:
    return dict(lab.state["endpoints"])


def addresses(lab: LabHandle) -> dict[str, Any]:
    return dict(lab.state["deployment"])


def l1(lab: LabHandle) -> Web3:
    return Web3(Web3.HTTPProvider(endpoints(lab)["l1_rpc_urls"][1], request_kwargs={"timeout": 10}))


def l2(lab: LabHandle) -> Web3:
    return Web3(Web3.HTTPProvider(endpoints(lab)["l2_rpc_urls"][0], request_kwargs={"timeout": 10}))


def l2_head(lab: LabHandle) -> int:
    """The L2 head as the chain itself has it (the anvil behind reth: unaffected by RPC faults)."""
    return int(Web3(Web3.HTTPProvider(endpoints(lab)["l2_anvil"])).eth.block_number)


def contract(w3: Web3, name: str, address: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=lab_artifact(name).abi)


def op_node(lab: LabHandle, method: str, *params: Any) -> Any:
    """A call to op-node's RPC; raises when op-node does not answer."""
    w3 = Web3(Web3.HTTPProvider(endpoints(lab)["op_node_rpc_url"], request_kwargs={"timeout": 5}))
    answer = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in answer:
        raise AssertionError(f"op-node {method}: {answer['error']}")
    return answer["result"]


def blocks_flow(lab: LabHandle, blocks: int = 2, within: float = 15.0) -> int:
    """Wait until the L2 chain grows by `blocks` blocks; returns the new head."""
    start = l2_head(lab)
    return eventually(lambda: l2_head(lab), lambda head: head >= start + blocks, "new L2 blocks", within)


def blocks_stalled(lab: LabHandle, watch: float = 3.0) -> int:
    """The L2 head does not move for `watch` seconds (the sequencer seals one a second when healthy)."""
    before = l2_head(lab)
    time.sleep(watch)
    after = l2_head(lab)
    assert after == before, f"L2 blocks still flow: head {before} -> {after}"
    return after


def inbox_txs(lab: LabHandle, from_block: int) -> list[str]:
    """Hashes of the batcher's successful transactions to the batch inbox since `from_block` (L1)."""
    w3, chain = l1(lab), addresses(lab)
    found = []
    for number in range(from_block, w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if (str(tx["to"]).lower() == chain["batch_inbox"].lower()
                    and str(tx["from"]).lower() == chain["batcher"].lower()
                    and w3.eth.get_transaction_receipt(tx["hash"])["status"] == 1):
                found.append(tx["hash"].hex())
    return found


def deployment_specs(lab: LabHandle) -> dict[tuple[str, str], Any]:
    with api(lab) as api_client:
        apps = client.AppsV1Api(api_client)
        return {(d.metadata.namespace, d.metadata.name): (d.spec.replicas, api_client.sanitize_for_serialization(
            d.spec.template)) for d in apps.list_deployment_for_all_namespaces().items}


@contextmanager
def restoring_deployments(lab: LabHandle) -> Iterator[None]:
    """Heal every fault, undo what a by-hand remedy changed in the Deployments (template, replicas), wait for
    op-node to be Ready."""
    before = deployment_specs(lab)
    try:
        yield
    finally:
        lab.lab.heal()
        after = deployment_specs(lab)
        with api(lab) as api_client:
            apps = client.AppsV1Api(api_client)
            for (namespace, name), (replicas, template) in before.items():
                if after.get((namespace, name)) != (replicas, template):
                    apps.patch_namespaced_deployment(name, namespace, [
                        {"op": "replace", "path": "/spec/template", "value": template},
                        {"op": "replace", "path": "/spec/replicas", "value": replicas}])
        if before != after:
            eventually(lambda: len(ready_pods(lab, "op-node")), lambda n: n >= 1, "op-node Ready again")


def logs_since(lab: LabHandle, deployment: str, started: float) -> str:
    """`kubectl logs deploy/X --since=Ns`: what the newest pod logged since about `started` (time.time())."""
    seconds = max(1, int(time.time() - started) + 1)
    return kubectl(lab, "logs", f"deploy/{deployment}", f"--since={seconds}s", check=False).stdout


def balance(lab: LabHandle, who: str) -> int:
    w3 = l1(lab)
    return int(w3.eth.get_balance(Web3.to_checksum_address(addresses(lab)[who])))


def lab_vars(lab: LabHandle) -> dict[str, Any]:
    """The inventory `jeju-play lab up` wrote (lab.yml): endpoints, addresses and the test-only keys."""
    import yaml

    return dict(yaml.safe_load(lab.lab.inventory_file.read_text()))


def top_up(lab: LabHandle, who: str, eth: int) -> None:
    """The runbook's top-up, by hand: `cast send` from the funding wallet (key from lab.yml) over the backup RPC."""
    cast("send", "--private-key", lab_vars(lab)["vault_funding_key"], "--rpc-url", endpoints(lab)["l1_rpc_urls"][1],
         addresses(lab)[who], "--value", f"{eth}ether")
