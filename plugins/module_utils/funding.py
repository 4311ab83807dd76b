# -*- coding: utf-8 -*-
"""fund_account: top a recipient up to a target balance inside guard rails, once per intent."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure
from ansible_collections.jeju.ops.plugins.module_utils.ledger import Ledger
from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    RpcClient,
    check_chain_id,
    hex_int,
)
from ansible_collections.jeju.ops.plugins.module_utils.txs import (
    SendRejected,
    address_of,
    eip1559_fees,
    send_raw,
    sign,
    wait_receipt,
)
from ansible_collections.jeju.ops.plugins.module_utils.units import eth_text, to_eth

TRANSFER_GAS = 21000


@dataclass
class Guards:
    target_wei: int
    max_transfer_wei: int
    daily_cap_wei: int

    def top_up(self, balance_wei: int) -> int:
        return max(0, self.target_wei - balance_wei)

    def refusal(self, amount_wei: int, spent_today_wei: int, recipient: str) -> str | None:
        """Why this transfer must not be sent, with the numbers, or None."""
        if amount_wei > self.max_transfer_wei:
            return (f"refused: topping {recipient} up needs {eth_text(amount_wei)}, above max_transfer_eth "
                    f"{eth_text(self.max_transfer_wei)}. Send it in reviewed steps or raise the cap in the inventory.")
        if spent_today_wei + amount_wei > self.daily_cap_wei:
            return (f"refused: {eth_text(amount_wei)} to {recipient} would bring the last 24 hours to "
                    f"{eth_text(spent_today_wei + amount_wei)}, above daily_cap_eth {eth_text(self.daily_cap_wei)} "
                    f"({eth_text(spent_today_wei)} already sent). Escalate to a human with funding authority.")
        return None


@dataclass
class Transfer:
    recipient: str
    recipient_name: str
    intent: str
    expect_chain_id: int
    confirmations: int
    receipt_timeout: float


def fund(client: RpcClient, ledger: Ledger, key: str, transfer: Transfer, guards: Guards, check_mode: bool) -> dict:
    sender = address_of(key)
    chain_id, to_raw, from_raw, nonce_raw, block, tip, code = client.require([
        Call("eth_chainId"), Call("eth_getBalance", [transfer.recipient, "latest"]),
        Call("eth_getBalance", [sender, "latest"]), Call("eth_getTransactionCount", [sender, "pending"]),
        Call("eth_getBlockByNumber", ["latest", False]), Call("eth_maxPriorityFeePerGas"),
        Call("eth_getCode", [transfer.recipient, "latest"]),
    ])
    chain_id = check_chain_id(client, chain_id, transfer.expect_chain_id)
    before = {"recipient_wei": hex_int(to_raw), "sender_wei": hex_int(from_raw)}
    facts = {"intent": transfer.intent, "recipient": transfer.recipient, "recipient_name": transfer.recipient_name,
             "sender": sender, "chain_id": chain_id, "balance_before_eth": to_eth(before["recipient_wei"]),
             "balance_before_wei": before["recipient_wei"]}
    known = ledger.latest(chain_id, transfer.intent)
    if known and known.get("state") in ("prepared", "sent", "confirmed"):
        return resume(client, ledger, known, transfer, facts, check_mode)
    earlier = ledger.unsettled(chain_id, transfer.recipient)
    if earlier:
        return settle_first(client, ledger, earlier, transfer, guards.target_wei, facts, check_mode)

    amount = guards.top_up(before["recipient_wei"])
    spent = ledger.spent_last_day(chain_id, sender)
    facts.update(amount_wei=amount, amount_eth=to_eth(amount), target_eth=to_eth(guards.target_wei),
                 max_transfer_eth=to_eth(guards.max_transfer_wei),
                 daily_cap_left_eth=to_eth(max(0, guards.daily_cap_wei - spent)))
    if amount == 0:
        return dict(facts, changed=False, tx_hash=None, balance_after_eth=facts["balance_before_eth"],
                    msg=f"{transfer.recipient_name} already holds {eth_text(before['recipient_wei'])}: nothing sent")
    refusal = guards.refusal(amount, spent, transfer.recipient_name)
    if refusal:
        raise ModuleFailure(refusal, **facts)

    gas = TRANSFER_GAS if code in (None, "0x", "0x0") else estimate(client, sender, transfer.recipient, amount)
    max_fee, max_tip = eip1559_fees(block, tip)
    if before["sender_wei"] < amount + gas * max_fee:
        raise ModuleFailure(
            f"the funding account {sender} holds {eth_text(before['sender_wei'])}, less than "
            f"{eth_text(amount)} plus up to {eth_text(gas * max_fee)} of fees: refill the funding account first",
            **facts)
    if check_mode:
        return dict(facts, changed=True, tx_hash=None, would_send_eth=facts["amount_eth"],
                    msg=f"would send {eth_text(amount)} to {transfer.recipient_name}")

    tx = {"type": 2, "chainId": chain_id, "nonce": hex_int(nonce_raw), "to": transfer.recipient, "value": amount,
          "gas": gas, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": max_tip, "data": "0x"}
    raw, tx_hash = sign(key, tx)
    record = dict(intent=transfer.intent, chain_id=chain_id, to=transfer.recipient, amount_wei=amount,
                  nonce=tx["nonce"], tx_hash=tx_hash, raw_tx=raw)
    record["from"] = sender
    ledger.append(state="prepared", prepared_ts=round(time.time(), 3), **record)
    try:
        send_raw(client, raw, tx_hash)
    except SendRejected as exc:
        ledger.append(state="aborted", intent=transfer.intent, chain_id=chain_id, reason=str(exc))
        raise ModuleFailure(f"{exc}. Nothing was sent; fix the cause and run again.", **facts) from None
    ledger.append(state="sent", intent=transfer.intent, chain_id=chain_id)
    return confirm(client, ledger, dict(record), transfer, dict(facts, sent_by_this_run=True))


def settle_first(client: RpcClient, ledger: Ledger, earlier: list[dict], transfer: Transfer, target_wei: int,
                 facts: dict, check_mode: bool) -> dict:
    """Another intent's transfer to the same recipient was signed and never settled (its run died after signing,
    maybe after broadcasting; its gate was approved then): see it through, by its own signed bytes, and send
    nothing new. A rerun after a crash therefore never pays twice; what is still missing after it is the next
    run's to send, behind its own gate."""
    hashes = [str(entry["tx_hash"]) for entry in earlier]
    seen = ", ".join(hashes)
    if check_mode:
        return dict(facts, changed=False, tx_hash=hashes[0], would_send_eth=0.0, settles=hashes,
                    msg=f"would see {seen} to {transfer.recipient_name} through (signed by an earlier run, never "
                        "confirmed) and send nothing new")
    for entry in earlier:
        resume(client, ledger, entry, replace(transfer, intent=str(entry["intent"])), dict(facts), False)
    after = hex_int(client.call("eth_getBalance", transfer.recipient, "latest"))
    short = after < target_wei
    return dict(facts, changed=False, tx_hash=hashes[-1], settled=hashes, sent_by_this_run=False,
                balance_after_eth=to_eth(after), balance_after_wei=after,
                msg=f"saw {seen} (signed by an earlier run, never confirmed) through: {transfer.recipient_name} "
                    f"holds {eth_text(after)}; nothing new sent"
                    + ("; still below its target: run again to top up the rest" if short else ""))


def resume(client: RpcClient, ledger: Ledger, known: dict, transfer: Transfer, facts: dict,
           check_mode: bool) -> dict:
    """The intent was already handled: wait for its transaction instead of sending again."""
    facts.update(amount_wei=int(known["amount_wei"]), amount_eth=to_eth(int(known["amount_wei"])),
                 sent_by_this_run=False)
    if known["state"] == "confirmed" or check_mode:
        return dict(facts, changed=False, tx_hash=known["tx_hash"], intent_state=known["state"],
                    msg=f"intent {transfer.intent} was already handled by transaction {known['tx_hash']}")
    found, mined_nonce = client.require([
        Call("eth_getTransactionByHash", [known["tx_hash"]]),
        Call("eth_getTransactionCount", [known["from"], "latest"]),
    ])
    if found is None:
        if hex_int(mined_nonce) > int(known["nonce"]):
            raise ModuleFailure(
                f"intent {transfer.intent}: transaction {known['tx_hash']} (nonce {known['nonce']}) is unknown to "
                f"{client.endpoint} and the sender's nonce {known['nonce']} was used by another transaction. "
                f"Check {transfer.recipient_name}'s balance and the ledger {ledger.path} before funding by hand.",
                **facts)
        send_raw(client, known["raw_tx"], known["tx_hash"])  # the same signed bytes: cannot pay twice
    return confirm(client, ledger, known, transfer, facts)


def confirm(client: RpcClient, ledger: Ledger, record: dict, transfer: Transfer, facts: dict) -> dict:
    receipt = wait_receipt(client, record["tx_hash"], transfer.confirmations, transfer.receipt_timeout)
    status = hex_int(receipt["status"])
    ledger.append(state="confirmed", intent=transfer.intent, chain_id=record["chain_id"],
                  block=hex_int(receipt["blockNumber"]), status=status)
    after = hex_int(client.call("eth_getBalance", transfer.recipient, "latest"))
    facts.update(tx_hash=record["tx_hash"], block=hex_int(receipt["blockNumber"]),
                 balance_after_eth=to_eth(after), balance_after_wei=after)
    if status != 1:
        raise ModuleFailure(f"transfer {record['tx_hash']} to {transfer.recipient_name} reverted", **facts)
    return dict(facts, changed=facts.get("sent_by_this_run", False),
                msg=f"sent {eth_text(int(record['amount_wei']))} to {transfer.recipient_name} "
                    f"in {record['tx_hash']}")


def estimate(client: RpcClient, sender: str, to: str, amount: int) -> int:
    gas = hex_int(client.call("eth_estimateGas", {"from": sender, "to": to, "value": hex(amount)}))
    return gas + gas // 5
