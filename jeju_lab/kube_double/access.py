"""Reading the lab API over raw HTTPS as any client would: the kubeconfig's server, CA and token.

For code that wants one JSON document without the kubernetes client (recovery checks, status):
``get_json(kubeconfig, "/api/v1/namespaces/op-stack/pods")``.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from jeju_play.errors import LabError


def _current(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context_name = config.get("current-context")
    context = next((c["context"] for c in config.get("contexts") or [] if c.get("name") == context_name), None)
    if context is None:
        raise LabError(f"the kubeconfig has no current context {context_name!r}")
    cluster = next(c["cluster"] for c in config.get("clusters") or [] if c.get("name") == context["cluster"])
    user: dict[str, Any] = next(
        (u["user"] for u in config.get("users") or [] if u.get("name") == context.get("user")), {})
    return cluster, user


def get_json(kubeconfig: str | Path, path: str, timeout: float = 5.0) -> Any:
    """GET `path` from the kubeconfig's current cluster with its CA and bearer token; the decoded JSON."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    cluster, user = _current(config)
    context = None
    if str(cluster["server"]).startswith("https://"):
        context = ssl.create_default_context()
        if cluster.get("certificate-authority-data"):
            context.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif cluster.get("certificate-authority"):
            context.load_verify_locations(cafile=cluster["certificate-authority"])
    headers = {"Accept": "application/json"}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    request = urllib.request.Request(str(cluster["server"]).rstrip("/") + path, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310 - the lab's API
        return json.load(answer)
