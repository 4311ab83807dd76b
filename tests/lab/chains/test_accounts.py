from __future__ import annotations

import pytest

from jeju_lab.chains import accounts


def test_accounts_are_anvils_well_known_test_accounts() -> None:
    assert accounts.DEPLOYER.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert accounts.BATCHER.address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert accounts.DEPLOYER.private_key().startswith("0xac0974bec39a17e36ba4a6b4d238ff944bacb478")


def test_names_and_addresses_are_unique() -> None:
    names = [account.name for account in accounts.ALL_ACCOUNTS]
    addresses = {account.address for account in accounts.ALL_ACCOUNTS}
    assert len(set(names)) == len(names) == len(addresses) == 11
    assert len(accounts.GUARDIAN_OWNERS) == 3


def test_repr_never_shows_the_key() -> None:
    for account in accounts.ALL_ACCOUNTS:
        key = account.private_key().removeprefix("0x")
        assert key not in repr(account)
        assert key not in str(account)
        assert key not in repr(accounts.ALL_ACCOUNTS)
        assert account.address in repr(account)


def test_lookup_by_name_and_address() -> None:
    assert accounts.by_name("attacker") is accounts.ATTACKER
    assert accounts.by_address(accounts.PROPOSER.address.lower()) is accounts.PROPOSER
    with pytest.raises(KeyError, match="known accounts: deployer"):
        accounts.by_name("nobody")
