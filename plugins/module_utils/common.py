# -*- coding: utf-8 -*-
"""What every jeju.ops module shares: argument specs, the failure path and address checks."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.jeju.ops.plugins.module_utils.rpc import RpcClient, RpcError
from ansible_collections.jeju.ops.plugins.module_utils.units import UnitError

# HTTPS to the endpoints: certificate checks on by default, an optional CA bundle (doc fragment jeju.ops.rpc.tls).
TLS_ARGS = dict(
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
)

RPC_ARGS = dict(
    rpc_urls=dict(type="list", elements="str", required=True, aliases=["rpc_url"]),
    expect_chain_id=dict(type="int"),
    timeout=dict(type="float", default=5.0),
    **TLS_ARGS,
)

KEY_ARGS = dict(
    signer_key=dict(type="str", no_log=True),
    signer_key_file=dict(type="path"),
)


class ModuleFailure(Exception):
    """A refusal or an error the module reports with fail_json; `facts` are returned alongside."""

    def __init__(self, message: str, **facts: object):
        super().__init__(message)
        self.facts = facts


def rpc_args(**extra: dict) -> dict:
    spec = {k: dict(v) for k, v in RPC_ARGS.items()}
    spec.update(extra)
    return spec


def tls_params(params: dict) -> dict:
    """RpcClient's certificate options from a module's parameters (TLS_ARGS)."""
    validate = params.get("validate_certs")
    return {"validate_certs": True if validate is None else bool(validate), "ca_path": params.get("ca_path")}


def client_for(params: dict, key: str = "rpc_urls") -> RpcClient:
    return RpcClient(params[key], timeout=params.get("timeout") or 5.0, **tls_params(params))


def run_module(module, logic, url_key: str | None = "rpc_urls") -> None:
    """`logic(module, client)` returns the result; our errors become fail_json with the endpoints report."""
    client = None
    try:
        client = client_for(module.params, url_key) if url_key else None
        result = logic(module, client)
    except ModuleFailure as exc:
        module.fail_json(msg=str(exc), **_with_report(dict(exc.facts), client))
    except (RpcError, UnitError, ValueError) as exc:
        module.fail_json(msg=str(exc), **_with_report({}, client))
    except ImportError as exc:  # eth-abi, eth-account, eth-utils are imported where they are used
        library = (exc.name or "eth-utils").partition(".")[0].replace("_", "-")
        module.fail_json(msg=missing_required_lib(library), exception=traceback.format_exc())
    module.exit_json(**_with_report(result, client))


def _with_report(result: dict, client: RpcClient | None) -> dict:
    if client is not None:
        for key, value in client.report().items():
            result.setdefault(key, value)
    return result


def checksum(address: str, what: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not isinstance(address, str) or not is_address(address):
        raise ModuleFailure(f"{what} {address!r} is not an Ethereum address (0x followed by 40 hex digits)")
    return to_checksum_address(address)


def read_key(params: dict, key: str = "signer_key", key_file: str = "signer_key_file") -> str:
    """A private key from a no_log variable or a file; never echoed in any message."""
    value = params.get(key)
    if not value and params.get(key_file):
        try:
            with open(params[key_file], encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ModuleFailure(f"cannot read {key_file} {params[key_file]}: {exc.strerror}") from None
    if not value:
        raise ModuleFailure(f"no signing key: set {key} (from Vault) or {key_file}")
    value = value.strip()
    body = value[2:] if value.startswith("0x") else value
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise ModuleFailure(f"{key} is not a 32-byte hex private key (value not shown)")
    return "0x" + body
