"""op-batcher: every poll, post the unsafe L2 blocks not yet covered by a batch as one real transaction
from the batcher account to the batch inbox on L1 (calldata, or an Alt-DA commitment via eigenda-proxy)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.frames import BatchRange, altda_tx_data, calldata_tx_data, encode_frame
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.rollup import RollupConfig, Timing
from jeju_lab.sim.rpc import JsonRpcClient, RpcError, RpcUnavailable, describe_connection_error, hex_int
from jeju_lab.sim.txsend import GWEI, FeeAboveLimit, NotConfirmed, TxSender
from jeju_play.errors import LabError


class DAUnavailable(LabError):
    """The Alt-DA server did not store the data."""


@dataclass
class BatcherStats:
    """What op-batcher's metrics show (op_batcher_default_*: batcher_tx{stage}, balance); times are unix."""

    batches_sent: int = 0  # stage "success"
    batches_failed: int = 0
    last_tx_hash: str = ""
    last_batch_unix: float = 0.0
    last_error: str = ""
    balance_wei: int | None = None
    tx_submitted: int = 0  # stage "submitted": a batch handed to the transaction manager
    last_submitted_unix: float = 0.0
    tx_failed: int = 0  # stage "failed": a submitted batch that did not land
    last_failed_unix: float = 0.0


class Batcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        conditions: Conditions,
        *,
        config: RollupConfig,
        timing: Timing,
        sender: TxSender,
        log: ComponentLog,
    ) -> None:
        self.session = session
        self.conditions = conditions
        self.config = config
        self.timing = timing
        self.sender = sender
        self.log = log
        self.last_batched = -1
        self.stats = BatcherStats()

    async def step(self) -> bool:
        """Send one batch if there is anything to send. Returns whether a batch landed."""
        c = self.conditions
        if not c.batcher_running:
            return False
        l1 = JsonRpcClient(self.session, c.batcher_l1_url, timeout_s=self.timing.receipt_timeout_s)
        try:
            self.stats.balance_wei = hex_int(await l1.call("eth_getBalance", self.sender.address, "latest"))
            batch = await self._next_range()
            if batch is None:
                return False
            data = await self._tx_data(batch)
            self.stats.tx_submitted += 1
            self.stats.last_submitted_unix = time.time()
            sent = await self.sender.send(
                l1, self.config.batch_inbox_address, data, fee_limit_wei=int(c.batcher_fee_limit_gwei * GWEI)
            )
        except FeeAboveLimit as exc:
            return self._failed("Failed to send transaction", f"fee too high: {exc}")
        except DAUnavailable as exc:
            return self._failed("Failed to post input to Alt DA", str(exc))
        except NotConfirmed as exc:
            return self._failed("Transaction not confirmed", str(exc))
        except RpcError as exc:
            return self._failed("Failed to send transaction", exc.rpc_message)
        except RpcUnavailable as exc:
            return self._failed("Failed to send transaction", str(exc))
        if not sent.ok:
            return self._failed("Transaction reverted", f"tx {sent.tx_hash} reverted")
        self.last_batched = batch.last_l2
        self.stats.batches_sent += 1
        self.stats.last_tx_hash = sent.tx_hash
        self.stats.last_batch_unix = time.time()
        self.log.info(
            "Transaction confirmed",
            tx=sent.tx_hash,
            block=sent.block_number,
            l2_blocks=f"{batch.first_l2}-{batch.last_l2}",
        )
        return True

    def _failed(self, msg: str, err: str) -> bool:
        self.stats.batches_failed += 1
        self.stats.last_error = err
        if self.stats.tx_submitted > self.stats.batches_sent + self.stats.tx_failed:
            self.stats.tx_failed += 1
            self.stats.last_failed_unix = time.time()
        self.log.error(msg, err=err, service="batcher")
        return False

    async def _next_range(self) -> BatchRange | None:
        c = self.conditions
        status = await JsonRpcClient(self.session, c.batcher_rollup_url).call("optimism_syncStatus")
        start = max(self.last_batched, int(status["safe_l2"]["number"])) + 1
        head = await JsonRpcClient(self.session, c.batcher_l2_url).call(
            "eth_getBlockByNumber", "latest", False
        )
        last = hex_int(head["number"])
        if last < start:
            return None
        self.log.info("Added L2 block to local state", blocks=last - start + 1, head=f"{head['hash']}:{last}")
        return BatchRange(start, last, bytes.fromhex(head["hash"].removeprefix("0x")))

    async def _tx_data(self, batch: BatchRange) -> bytes:
        c = self.conditions
        frame = encode_frame(batch)
        if not c.batcher_altda_enabled:
            return calldata_tx_data(frame)
        try:
            return altda_tx_data(await self._put_to_da(frame))
        except DAUnavailable as exc:
            if not c.batcher_altda_failover:
                raise
            self.log.warn("Alt DA unavailable, falling back to Ethereum DA", err=str(exc))
            return calldata_tx_data(frame)

    async def _put_to_da(self, frame: bytes) -> bytes:
        url = self.conditions.batcher_altda_server.rstrip("/") + "/put"
        try:
            async with self.session.post(url, data=frame, timeout=aiohttp.ClientTimeout(total=5)) as response:
                body = await response.read()
                if response.status != 200:
                    raise DAUnavailable(
                        f"failed to store data: {response.status} {body[:100].decode(errors='replace')}"
                    )
                return body
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DAUnavailable(f"Post {url!r}: {describe_connection_error(exc)}") from exc

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.timing.batch_interval_s)
