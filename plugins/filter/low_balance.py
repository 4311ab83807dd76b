# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter low_balance_cause (runbook "P2 - Medium": account balances below 2 ETH): who is low.

    {{ funding_balances | jeju.ops.low_balance_cause }}

funding_balances is jeju.ops.account_balance's result for the funding recipients. Returns cause (low or
funded), cause_text, healthy, low (the names below their low mark), balances and low_marks (name -> ETH).

    {{ funding_transfers | jeju.ops.funding_reached(funding_balances) }}

after the top-ups: ok, and the failure (who is still low, which transfer fell short of its target).
"""

from __future__ import annotations


def low_balance_cause(balances):
    rows = balances.get("balances") or {}
    low = list(balances.get("below_min") or [])
    eth = {name: row.get("eth") for name, row in rows.items()}
    marks = {name: row.get("min_eth") for name, row in rows.items()}
    text = ("Below the low mark (ETH): " + ", ".join(f"{n} {eth[n]} < {marks[n]}" for n in low)) if low else (
        "Every account is above its low mark")
    return {
        "cause": "low" if low else "funded",
        "cause_text": text,
        "healthy": not low,
        "low": low,
        "balances": eth,
        "low_marks": marks,
        "evidence": {"balances_eth": eth, "low_marks_eth": marks, "low": low,
                     "block": balances.get("block_number")},
    }


def funding_reached(transfers, balances):
    """After the top-ups: no account below its low mark, and each transfer of this run reached its target."""
    problems = []
    if balances.get("below_min"):
        problems.append(f"still low after the top-up: {balances.get('summary') or ', '.join(balances['below_min'])}")
    for transfer in transfers or []:
        if transfer.get("sent_by_this_run") and float(transfer.get("balance_after_eth") or 0) < float(
                transfer.get("target_eth") or 0):
            problems.append(f"{transfer['name']} holds {transfer.get('balance_after_eth')} ETH after "
                            f"{transfer.get('tx_hash')}, below its target {transfer.get('target_eth')} ETH")
    return {"ok": not problems, "failure": "; ".join(problems)}


class FilterModule:
    def filters(self):
        return {"low_balance_cause": low_balance_cause, "funding_reached": funding_reached}
