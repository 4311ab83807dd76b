"""The lab's named accounts, derived from anvil's public test mnemonic.

Every key here is PUBLIC knowledge (the mnemonic ships with Foundry) and must only ever hold test funds
on a local lab chain. Keys are derived on demand and never appear in `repr()` or `str()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from eth_account import Account
from eth_account.signers.local import LocalAccount

from jeju_lab.anvil import TEST_MNEMONIC

DERIVATION_PATH = "m/44'/60'/0'/0/{index}"


@cache
def _derive(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    path = DERIVATION_PATH.format(index=index)
    account: LocalAccount = Account.from_mnemonic(TEST_MNEMONIC, account_path=path)
    return account


@dataclass(frozen=True)
class LabAccount:
    """One named account. `private_key()` is the only way to its key; repr shows name and address only."""

    name: str
    index: int
    role: str = field(compare=False)

    @property
    def address(self) -> str:
        return str(_derive(self.index).address)

    def private_key(self) -> str:
        """The hex private key (0x-prefixed). Public test key: never use it outside the lab."""
        return "0x" + bytes(_derive(self.index).key).hex()

    def signer(self) -> LocalAccount:
        return _derive(self.index)

    def __repr__(self) -> str:
        return f"LabAccount(name={self.name!r}, index={self.index}, address={self.address})"

    __str__ = __repr__


# Indexes 0-9 are funded by anvil's default `--accounts 10`; deploy() funds 10 and above.
DEPLOYER = LabAccount("deployer", 0, "deploys the L1 contracts")
BATCHER = LabAccount("batcher", 1, "op-batcher: sends batches to the batch inbox")
PROPOSER = LabAccount("proposer", 2, "op-proposer: the only account allowed to propose outputs")
CHALLENGER = LabAccount("challenger", 3, "the only account allowed to delete outputs")
FUNDING_WALLET = LabAccount("funding_wallet", 4, "tops up the batcher and proposer")
ATTACKER = LabAccount("attacker", 5, "drains the portal in the exploit fault")
USER_ALICE = LabAccount("user_alice", 6, "the lab's bridge user: deposits through the OptimismPortal every few seconds")
USER_BOB = LabAccount("user_bob", 7, "a spare user")
GUARDIAN_OWNERS = (
    LabAccount("guardian_owner_1", 8, "owner of the 2-of-3 guardian Safe"),
    LabAccount("guardian_owner_2", 9, "owner of the 2-of-3 guardian Safe"),
    LabAccount("guardian_owner_3", 10, "owner of the 2-of-3 guardian Safe"),
)

ALL_ACCOUNTS: tuple[LabAccount, ...] = (
    DEPLOYER,
    BATCHER,
    PROPOSER,
    CHALLENGER,
    FUNDING_WALLET,
    ATTACKER,
    USER_ALICE,
    USER_BOB,
    *GUARDIAN_OWNERS,
)


def by_name(name: str) -> LabAccount:
    for account in ALL_ACCOUNTS:
        if account.name == name:
            return account
    known = ", ".join(account.name for account in ALL_ACCOUNTS)
    raise KeyError(f"no lab account named {name!r}; known accounts: {known}")


def by_address(address: str) -> LabAccount:
    for account in ALL_ACCOUNTS:
        if account.address.lower() == address.lower():
            return account
    raise KeyError(f"{address} is not a lab account")
