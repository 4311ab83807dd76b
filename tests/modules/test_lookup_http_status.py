"""jeju.ops.http_status, a health endpoint's status read in the controller: a real ansible-playbook (in check mode,
where lookups still run) against a loopback HTTP server that answers 200 or 503, and against a port nobody
listens on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import dead_url, lookup_value


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/health" else 503
        self.server.asked.append(self.path)  # type: ignore[attr-defined]
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}' if code == 200 else b"unhealthy")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    server.asked = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_status_of_a_healthy_an_unhealthy_and_a_dead_endpoint(collections: Path, tmp_path: Path,
                                                                   health: ThreadingHTTPServer) -> None:
    base = f"http://127.0.0.1:{health.server_address[1]}"
    dead = dead_url()
    done, statuses = lookup_value(collections, tmp_path, (
        f"{{{{ query('jeju.ops.http_status', '{base}/health', '{base}/unhealthy', '{dead}/health', timeout=2) }}}}"),
        check=True)
    assert done.returncode == 0, done.stdout + done.stderr
    ok, unhealthy, unreachable = statuses
    assert (ok["status"], ok["url"]) == (200, f"{base}/health")
    assert unhealthy["status"] == 503 and "503" in unhealthy["msg"]
    assert unreachable["status"] == -1 and "refused" in unreachable["msg"].lower(), unreachable
    assert health.asked == ["/health", "/unhealthy"]  # type: ignore[attr-defined]
