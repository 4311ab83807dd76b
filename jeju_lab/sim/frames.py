"""Batch transaction data: a real frame envelope around a lab payload that names the L2 blocks it covers.

Calldata (derivation version 0x00):  00 | channel_id(16) | frame_number(2) | length(4) | payload | is_last(1)
Alt-DA commitment (version 0x01):   01 | 01 (generic) | 00 (EigenDA) | 00 (cert version) | cert
The lab payload is first_l2(8) | last_l2(8) | last_l2_hash(32); the lab eigenda-proxy's cert is
keccak(frame) | frame, so op-node can read the range back without a DA round trip.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from eth_utils.crypto import keccak

CALLDATA_VERSION = 0x00
ALTDA_VERSION = 0x01
ALTDA_PREFIX = bytes([0x01, 0x00, 0x00])  # generic commitment, EigenDA layer, cert version 0
PAYLOAD = struct.Struct(">QQ32s")


@dataclass(frozen=True)
class BatchRange:
    first_l2: int
    last_l2: int
    last_l2_hash: bytes


def encode_frame(batch: BatchRange, channel_id: bytes | None = None) -> bytes:
    payload = PAYLOAD.pack(batch.first_l2, batch.last_l2, batch.last_l2_hash)
    channel = channel_id or os.urandom(16)
    return channel + struct.pack(">HI", 0, len(payload)) + payload + b"\x01"


def decode_frame(frame: bytes) -> BatchRange | None:
    header = 16 + 2 + 4
    if len(frame) != header + PAYLOAD.size + 1:
        return None
    (length,) = struct.unpack(">I", frame[18:22])
    if length != PAYLOAD.size:
        return None
    first, last, last_hash = PAYLOAD.unpack(frame[header : header + PAYLOAD.size])
    return BatchRange(first, last, last_hash)


def calldata_tx_data(frame: bytes) -> bytes:
    return bytes([CALLDATA_VERSION]) + frame


def eigenda_cert(frame: bytes) -> bytes:
    return ALTDA_PREFIX + keccak(frame) + frame


def altda_tx_data(commitment: bytes) -> bytes:
    return bytes([ALTDA_VERSION]) + commitment


def decode_batch_tx(data: bytes) -> BatchRange | None:
    """The L2 range a batch transaction's data covers, or None when it is not a batch the lab understands."""
    if not data:
        return None
    if data[0] == CALLDATA_VERSION:
        return decode_frame(data[1:])
    body = data[1:]
    if data[0] == ALTDA_VERSION and body.startswith(ALTDA_PREFIX):
        cert = body[len(ALTDA_PREFIX) :]
        frame = cert[32:]
        if keccak(frame) != cert[:32]:
            return None
        return decode_frame(frame)
    return None
