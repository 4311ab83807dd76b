from __future__ import annotations

import json
import subprocess
from pathlib import Path

from eth_utils.crypto import keccak

from jeju_lab.chains.artifacts import ARTIFACTS_DIR, LAB_CONTRACTS, lab_artifact

COMPILE_SCRIPT = ARTIFACTS_DIR.parent / "compile.js"


def test_recompiling_with_the_pinned_solc_gives_the_committed_artifacts(tmp_path: Path) -> None:
    result = subprocess.run(
        ["node", str(COMPILE_SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "solc 0.8.28" in result.stdout
    fresh = sorted(path.name for path in tmp_path.glob("*.json"))
    assert fresh == sorted(f"{name}.json" for name in LAB_CONTRACTS)
    for name in fresh:
        committed = json.loads((ARTIFACTS_DIR / name).read_text())
        assert json.loads((tmp_path / name).read_text()) == committed, name


def selectors(name: str) -> dict[str, str]:
    found = {}
    for entry in lab_artifact(name).abi:
        if entry["type"] == "function":
            signature = f"{entry['name']}({','.join(item['type'] for item in entry['inputs'])})"
            found[signature] = "0x" + keccak(text=signature)[:4].hex()
    return found


def test_abis_carry_the_real_op_stack_selectors() -> None:
    oracle = selectors("L2OutputOracle")
    assert oracle["latestOutputIndex()"] == "0x69f16eec"
    assert oracle["latestBlockNumber()"] == "0x4599c788"
    assert oracle["nextBlockNumber()"] == "0xdcec3348"
    assert oracle["getL2Output(uint256)"] == "0xa25ae557"
    assert oracle["SUBMISSION_INTERVAL()"] == "0x529933df"
    assert "proposeL2Output(bytes32,uint256,bytes32,uint256)" in oracle
    config = selectors("SuperchainConfig")
    assert config["pause(string)"] == "0x6da66355"
    assert config["paused()"] == "0x5c975abb"
    assert "depositTransaction(address,uint256,uint64,bool,bytes)" in selectors("OptimismPortal")


def test_get_l2_output_returns_the_real_struct() -> None:
    entry = next(item for item in lab_artifact("L2OutputOracle").abi if item.get("name") == "getL2Output")
    (output,) = entry["outputs"]
    assert output["type"] == "tuple"
    assert [(c["name"], c["type"]) for c in output["components"]] == [
        ("outputRoot", "bytes32"),
        ("timestamp", "uint128"),
        ("l2BlockNumber", "uint128"),
    ]
