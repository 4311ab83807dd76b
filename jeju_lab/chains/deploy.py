"""Deploy the lab's L1 ("Base") contracts: the real Safe v1.4.1 as guardian, SuperchainConfig,
L2OutputOracle and a minimal OptimismPortal holding the bridge's ETH.

Every transaction comes from the deployer with precomputed addresses, so the whole deployment is sent
before any receipt is awaited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import Nonce
from web3.utils.address import get_create2_address, get_create_address

from jeju_lab.chains import accounts
from jeju_lab.chains.artifacts import (
    SAFE_PROXY,
    SAFE_PROXY_FACTORY,
    SAFE_SINGLETON,
    lab_artifact,
    safe_artifact,
)
from jeju_lab.chains.transactions import TxBatch
from jeju_play.errors import LabError

L1_CHAIN_ID = 8453  # the lab's L1 plays Base mainnet
L2_CHAIN_ID = 420690  # Jeju in the lab: an id chosen for the lab only
L1_BLOCK_TIME = 2  # seconds, as on Base
L2_BLOCK_TIME = 1  # seconds
ETHER = 10**18
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Fixed gas limits (unused gas is refunded): a batch cannot estimate a call on a contract not yet mined.
GAS = {
    "safe_singleton": 6_000_000,
    "safe_proxy_factory": 1_500_000,
    "guardian_safe": 600_000,
    "superchain_config": 800_000,
    "l2_output_oracle": 2_500_000,
    "optimism_portal": 2_000_000,
    "fund": 100_000,
}


def batch_inbox_address(l2_chain_id: int) -> str:
    """The OP Stack convention: 0xff00...00 followed by the L2 chain id's decimal digits."""
    digits = str(l2_chain_id)
    return Web3.to_checksum_address("0xff" + digits.rjust(38, "0"))


@dataclass(frozen=True)
class DeployConfig:
    l2_chain_id: int = L2_CHAIN_ID
    submission_interval: int = 10  # L2 blocks between outputs
    l2_block_time: int = L2_BLOCK_TIME
    starting_block_number: int = 0
    starting_timestamp: int | None = None  # None: the L1 head's timestamp
    finalization_period_seconds: int = 7 * 24 * 3600
    guardian_threshold: int = 2
    portal_tvl_wei: int = 1000 * ETHER
    account_top_up_wei: int = 100 * ETHER  # for lab accounts that anvil did not fund
    safe_salt_nonce: int = 0


@dataclass(frozen=True)
class L1Deployment:
    l1_chain_id: int
    l2_chain_id: int
    l2_output_oracle: str
    superchain_config: str
    optimism_portal: str
    guardian_safe: str
    safe_singleton: str
    safe_proxy_factory: str
    batch_inbox: str
    batcher: str
    proposer: str
    challenger: str
    guardian_owners: tuple[str, ...]
    guardian_threshold: int
    submission_interval: int
    l1_block_time: int
    l2_block_time: int
    starting_block_number: int
    starting_timestamp: int
    finalization_period_seconds: int
    portal_tvl_wei: int
    deployed_in_block: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["guardian_owners"] = list(self.guardian_owners)
        return data


def safe_setup_data(owners: list[str], threshold: int) -> str:
    singleton = safe_artifact(SAFE_SINGLETON)
    contract = Web3().eth.contract(abi=singleton.abi)
    return str(
        contract.encode_abi(
            "setup",
            args=[owners, threshold, ZERO_ADDRESS, b"", ZERO_ADDRESS, ZERO_ADDRESS, 0, ZERO_ADDRESS],
        )
    )


def predict_safe_address(factory: str, singleton: str, initializer: str, salt_nonce: int) -> str:
    """SafeProxyFactory 1.4.1: CREATE2 with salt keccak(keccak(initializer) ++ saltNonce)."""
    salt = keccak(keccak(hexstr=initializer) + encode(["uint256"], [salt_nonce]))
    init_code = safe_artifact(SAFE_PROXY).bytecode + encode(["uint256"], [int(singleton, 16)]).hex()
    return str(get_create2_address(factory, "0x" + salt.hex(), init_code))  # type: ignore[arg-type]


def deploy_l1(rpc_url: str, config: DeployConfig | None = None, timeout: float = 30.0) -> L1Deployment:
    """Deploy everything on the L1 at `rpc_url` (anvil, chain id 8453) and return the addresses."""
    config = config or DeployConfig()
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    head = w3.eth.get_block("latest")
    starting_timestamp = (
        config.starting_timestamp if config.starting_timestamp is not None else head["timestamp"]
    )
    deployer = accounts.DEPLOYER.signer()
    batch = TxBatch.start(w3, deployer)

    def next_address(offset: int) -> str:
        return str(get_create_address(deployer.address, Nonce(batch.next_nonce + offset)))

    owners = sorted((owner.address for owner in accounts.GUARDIAN_OWNERS), key=str.lower)
    singleton, factory = next_address(0), next_address(1)
    initializer = safe_setup_data(owners, config.guardian_threshold)
    safe = predict_safe_address(factory, singleton, initializer, config.safe_salt_nonce)
    superchain_config, oracle, portal = next_address(3), next_address(4), next_address(5)

    batch.send(
        "deploy Safe singleton", None, safe_artifact(SAFE_SINGLETON).bytecode, gas=GAS["safe_singleton"]
    )
    batch.send(
        "deploy SafeProxyFactory",
        None,
        safe_artifact(SAFE_PROXY_FACTORY).bytecode,
        gas=GAS["safe_proxy_factory"],
    )
    factory_contract = w3.eth.contract(abi=safe_artifact(SAFE_PROXY_FACTORY).abi)
    create_safe = factory_contract.encode_abi(
        "createProxyWithNonce", args=[singleton, initializer, config.safe_salt_nonce]
    )
    batch.send("create the guardian Safe", factory, create_safe, gas=GAS["guardian_safe"])
    batch.send(
        "deploy SuperchainConfig",
        None,
        lab_artifact("SuperchainConfig").deploy_data(safe, False),
        gas=GAS["superchain_config"],
    )
    batch.send(
        "deploy L2OutputOracle",
        None,
        lab_artifact("L2OutputOracle").deploy_data(
            config.submission_interval,
            config.l2_block_time,
            config.starting_block_number,
            starting_timestamp,
            accounts.PROPOSER.address,
            accounts.CHALLENGER.address,
            config.finalization_period_seconds,
        ),
        gas=GAS["l2_output_oracle"],
    )
    batch.send(
        "deploy OptimismPortal",
        None,
        lab_artifact("OptimismPortal").deploy_data(superchain_config, oracle),
        gas=GAS["optimism_portal"],
    )
    portal_contract = w3.eth.contract(abi=lab_artifact("OptimismPortal").abi)
    batch.send(
        "fund the portal (TVL)",
        portal,
        portal_contract.encode_abi("donateETH"),
        value=config.portal_tvl_wei,
        gas=GAS["fund"],
    )
    for account in accounts.ALL_ACCOUNTS:
        if w3.eth.get_balance(account.address) == 0:  # type: ignore[arg-type]
            batch.send(
                f"fund {account.name}", account.address, value=config.account_top_up_wei, gas=GAS["fund"]
            )
    receipts = batch.wait(timeout)
    _check_deployed(
        w3,
        {
            "Safe singleton": singleton,
            "SafeProxyFactory": factory,
            "guardian Safe": safe,
            "SuperchainConfig": superchain_config,
            "L2OutputOracle": oracle,
            "OptimismPortal": portal,
        },
    )

    return L1Deployment(
        l1_chain_id=w3.eth.chain_id,
        l2_chain_id=config.l2_chain_id,
        l2_output_oracle=oracle,
        superchain_config=superchain_config,
        optimism_portal=portal,
        guardian_safe=safe,
        safe_singleton=singleton,
        safe_proxy_factory=factory,
        batch_inbox=batch_inbox_address(config.l2_chain_id),
        batcher=accounts.BATCHER.address,
        proposer=accounts.PROPOSER.address,
        challenger=accounts.CHALLENGER.address,
        guardian_owners=tuple(owners),
        guardian_threshold=config.guardian_threshold,
        submission_interval=config.submission_interval,
        l1_block_time=L1_BLOCK_TIME,
        l2_block_time=config.l2_block_time,
        starting_block_number=config.starting_block_number,
        starting_timestamp=starting_timestamp,
        finalization_period_seconds=config.finalization_period_seconds,
        portal_tvl_wei=config.portal_tvl_wei,
        deployed_in_block=int(receipts[-1]["blockNumber"]),
    )


def _check_deployed(w3: Web3, contracts: dict[str, str]) -> None:
    for name, address in contracts.items():
        if len(w3.eth.get_code(address)) == 0:  # type: ignore[arg-type]
            raise LabError(
                f"{name} has no code at {address} after deployment: is the L1 at chain id "
                f"{L1_CHAIN_ID} a fresh anvil? Restart it and deploy again."
            )
