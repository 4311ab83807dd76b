# -*- coding: utf-8 -*-
"""The funding ledger: an append-only JSON-lines file of intents and transfers, under an fcntl lock.

Write-ahead: the signed transaction (hash, nonce, raw bytes; never the key) is recorded as `prepared` BEFORE it
is broadcast, so a run that dies between sending and recording leaves enough for the next run to find the
transaction (pending or mined) and wait for it, or re-broadcast the very same signed bytes (same nonce: it
can never be paid twice).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager

SPENT_STATES = ("prepared", "sent", "confirmed")
DAY_SECONDS = 86400


class LedgerBusy(Exception):
    pass


class Ledger:
    def __init__(self, path: str):
        self.path = path

    @contextmanager
    def locked(self, timeout: float):
        """Exclusive lock on `<ledger>.lock`: concurrent runs for one intent run one after the other."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path + ".lock", "a+", encoding="utf-8") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LedgerBusy(
                            f"the funding ledger {self.path} stayed locked for {timeout:.0f} s by another "
                            "run; wait for it to finish and run again"
                        ) from None
                    time.sleep(0.1)
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def entries(self) -> list[dict]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return [json.loads(line) for line in handle if line.strip()]
        except FileNotFoundError:
            return []

    def append(self, **entry: object) -> dict:
        entry.setdefault("ts", round(time.time(), 3))
        entry.setdefault("at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def states(self, chain_id: int) -> dict[str, dict]:
        """Each intent's current state on this chain: its records folded in order, the last word winning."""
        folded: dict[str, dict] = {}
        for entry in self.entries():
            if entry.get("chain_id") == chain_id and "intent" in entry:
                folded[entry["intent"]] = {**folded.get(entry["intent"], {}), **entry}
        return folded

    def latest(self, chain_id: int, intent: str) -> dict | None:
        """The intent's last record on this chain (its current state), or None."""
        return self.states(chain_id).get(intent)

    def unsettled(self, chain_id: int, recipient: str) -> list[dict]:
        """Transfers to `recipient` on this chain signed (prepared) or sent but never confirmed nor aborted: a run
        that died after signing. Their money may be on its way; nobody sends more before they settle."""
        return [s for s in self.states(chain_id).values() if s.get("state") in ("prepared", "sent")
                and str(s.get("to", "")).lower() == recipient.lower() and s.get("raw_tx")]

    def spent_last_day(self, chain_id: int, sender: str, now: float | None = None) -> int:
        """Wei sent (or in flight) by `sender` on this chain in the last 24 hours, one amount per intent."""
        now = time.time() if now is None else now
        states = self.states(chain_id)
        return sum(
            int(s["amount_wei"]) for s in states.values()
            if s.get("state") in SPENT_STATES and str(s.get("from", "")).lower() == sender.lower()
            and now - float(s.get("prepared_ts", s["ts"])) < DAY_SECONDS
        )
