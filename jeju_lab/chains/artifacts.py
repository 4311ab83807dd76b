"""Compiled contracts: the lab's own (committed under lab/contracts/artifacts) and the real Safe v1.4.1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import safe_eth
from eth_abi.abi import encode

from jeju_play.errors import LabError

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "contracts" / "artifacts"
SAFE_ABIS_DIR = Path(safe_eth.__file__).resolve().parent / "eth" / "contracts" / "abis"

LAB_CONTRACTS = ("L2OutputOracle", "SuperchainConfig", "OptimismPortal")
SAFE_SINGLETON = "Safe_V1_4_1"
SAFE_PROXY_FACTORY = "ProxyFactory_V1_4_1"
SAFE_PROXY = "Proxy_V1_4_1"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str

    def constructor_types(self) -> list[str]:
        for entry in self.abi:
            if entry.get("type") == "constructor":
                return [str(item["type"]) for item in entry["inputs"]]
        return []

    def deploy_data(self, *args: Any) -> str:
        """Creation bytecode followed by the ABI-encoded constructor arguments."""
        types = self.constructor_types()
        if len(types) != len(args):
            raise LabError(f"{self.name} takes {len(types)} constructor arguments ({types}), got {len(args)}")
        return self.bytecode + encode(types, list(args)).hex()


def _load(path: Path, name: str) -> Artifact:
    if not path.exists():
        raise LabError(f"artifact {path} is missing: run `node jeju_lab/contracts/compile.js`.")
    data = json.loads(path.read_text())
    bytecode = str(data["bytecode"])
    return Artifact(
        name=name, abi=list(data["abi"]), bytecode=bytecode if bytecode.startswith("0x") else "0x" + bytecode
    )


@cache
def lab_artifact(name: str) -> Artifact:
    """One of LAB_CONTRACTS, compiled by compile.js."""
    return _load(ARTIFACTS_DIR / f"{name}.json", name)


@cache
def safe_artifact(name: str) -> Artifact:
    """A Safe contract as built by Safe and shipped in safe-eth-py (Safe_V1_4_1, ProxyFactory_V1_4_1)."""
    return _load(SAFE_ABIS_DIR / f"{name}.json", name)
