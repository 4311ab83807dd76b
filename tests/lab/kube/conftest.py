"""Fixtures: a running API double (own loop, background thread) and a kubeconfig pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from jeju_lab.kube_double import Cluster, ThreadedKubeServer, write_kubeconfig

from .helpers import NAMESPACE


@pytest.fixture
def lab() -> Iterator[ThreadedKubeServer]:
    server = ThreadedKubeServer(Cluster(ready_delay=0.1))
    server.start()
    try:
        server.call(server.cluster.ensure_namespace, NAMESPACE)
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubeconfig(lab: ThreadedKubeServer, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", lab.url, namespace=NAMESPACE)


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()
