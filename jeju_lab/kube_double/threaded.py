"""Run the API double on its own loop in a background thread (tests, benchmarks, the CLI)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from jeju_lab.kube_double.cluster import Cluster
from jeju_lab.kube_double.server import KubeServer, start_server
from jeju_play.errors import LabError

T = TypeVar("T")


class ThreadedKubeServer:
    """`with ThreadedKubeServer(Cluster()) as lab:` serves on lab.url; `lab.call(fn, ...)` runs fn on the loop."""

    def __init__(self, cluster: Cluster, host: str = "127.0.0.1", port: int = 0) -> None:
        self.cluster = cluster
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="lab-kube", daemon=True)
        self._host, self._port = host, port
        self.server: KubeServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise LabError("the lab API double is not running: call start() first")
        return self.server.url

    def start(self) -> ThreadedKubeServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start_server(self.cluster, self._host, self._port), self.loop)
        self.server = future.result(timeout=10)
        return self

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run a plain Cluster method on the server's loop and return its result."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=10)
            self.server = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> ThreadedKubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
