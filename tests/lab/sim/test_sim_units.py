"""Pure pieces: env var mapping, durations, log lines, batch frames, the reth load model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jeju_lab.sim.conditions import (
    Conditions,
    apply_batcher_env,
    apply_op_node_env,
    apply_proposer_env,
    parse_duration_s,
)
from jeju_lab.sim.frames import (
    BatchRange,
    altda_tx_data,
    calldata_tx_data,
    decode_batch_tx,
    eigenda_cert,
    encode_frame,
)
from jeju_lab.sim.logfmt import format_line
from jeju_lab.sim.proxy import RethLoad
from jeju_play.errors import LabError


def test_env_vars_with_their_real_names_update_the_conditions() -> None:
    c = Conditions()
    apply_op_node_env(c, {"OP_NODE_L1_ETH_RPC": "http://l1-backup:8545", "OP_NODE_SEQUENCER_STOPPED": "true"})
    apply_batcher_env(
        c,
        {
            "OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD": "200",
            "OP_BATCHER_DATA_AVAILABILITY_TYPE": "blobs",
            "OP_BATCHER_ALTDA_ENABLED": "false",
            "OP_BATCHER_ALTDA_DA_SERVER": "http://eigenda-proxy:3100",
        },
    )
    apply_proposer_env(
        c,
        {
            "OP_PROPOSER_POLL_INTERVAL": "1m30s",
            "OP_PROPOSER_L2OO_ADDRESS": "0xabc",
            "OP_PROPOSER_ROLLUP_RPC": "http://op-node:9545",
        },
    )
    assert c.sequencer_l1_url == "http://l1-backup:8545"
    assert c.sequencer_stopped_at_start is True
    assert c.batcher_fee_limit_gwei == 200.0
    assert c.batcher_da_type == "blobs"
    assert c.batcher_altda_enabled is False
    assert c.batcher_altda_server == "http://eigenda-proxy:3100"
    assert c.proposer_poll_interval_s == 90.0
    assert (c.proposer_l2oo_address, c.proposer_rollup_url) == ("0xabc", "http://op-node:9545")


def test_bad_values_are_refused_with_what_to_write() -> None:
    with pytest.raises(LabError, match="use one of calldata, blobs, auto"):
        apply_batcher_env(Conditions(), {"OP_BATCHER_DATA_AVAILABILITY_TYPE": "eigenda"})
    with pytest.raises(LabError, match="write 12s"):
        parse_duration_s("12")
    assert parse_duration_s("500ms") == 0.5


def test_log_lines_look_like_op_stack_logfmt() -> None:
    now = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    line = format_line("info", "Sequencer sealed block", {"block": "0xab:12", "err": 'a "b" c'}, now=now)
    assert (
        line
        == 't=2026-11-27T10:00:00+0000 lvl=info msg="Sequencer sealed block" block=0xab:12 err="a \\"b\\" c"'
    )


def test_batch_frames_round_trip_in_calldata_and_alt_da_commitments() -> None:
    batch = BatchRange(5, 9, bytes(range(32)))
    frame = encode_frame(batch)
    assert decode_batch_tx(calldata_tx_data(frame)) == batch
    assert decode_batch_tx(altda_tx_data(eigenda_cert(frame))) == batch
    assert calldata_tx_data(frame)[0] == 0x00 and altda_tx_data(eigenda_cert(frame))[0] == 0x01
    assert decode_batch_tx(b"\x00junk") is None
    assert decode_batch_tx(b"") is None


def test_reth_latency_follows_load_over_replicas() -> None:
    overloaded = RethLoad(base_ms=40, load=1200, replicas=1)
    assert overloaded.latency_ms() == 1240
    overloaded.replicas = 3
    assert overloaded.latency_ms() < 500
    overloaded.replicas = 0
    assert overloaded.latency_ms() == float("inf")
