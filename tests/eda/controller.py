"""A stand-in AWX / AAP controller on loopback for ansible-rulebook's run_job_template: it knows every job template
asked for, records each launch (template name and the POSTed body: extra_vars, limit) and reports each job
successful at once. Only the API calls ansible-rulebook 1.x makes: config, unified_job_templates, launch, jobs.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

ORGANIZATION = "Jeju"


@dataclass
class Launch:
    template: str
    body: dict[str, Any]

    @property
    def extra_vars(self) -> dict[str, Any]:
        return self.body.get("extra_vars") or {}


@dataclass
class FakeController:
    organization: str = ORGANIZATION
    launches: list[Launch] = field(default_factory=list)
    templates: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def launched(self) -> list[str]:
        with self._lock:
            return [launch.template for launch in self.launches]

    def start(self) -> FakeController:
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def _send(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/api/v2/config/":
                    self._send(200, {"version": "4.6.0"})
                elif url.path == "/api/v2/unified_job_templates/":
                    self._send(200, {"results": [controller._template(query.get("name", ""))], "next": None})
                elif url.path == "/api/v2/jobs/":
                    ids = [i for i in query.get("id__in", "").split(",") if i]
                    self._send(200, {"results": [{"id": int(i), "status": "successful", "created": "now",
                                                  "artifacts": {}} for i in ids]})
                else:
                    self._send(404, {"detail": f"not served by the fake controller: {url.path}"})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                parts = url.path.strip("/").split("/")  # api v2 job_templates ID launch
                if len(parts) == 5 and parts[2] == "job_templates" and parts[4] == "launch":
                    job = controller._launch(int(parts[3]), body)
                    self._send(201, {"id": job, "job": job, "url": f"/api/v2/jobs/{job}/"})
                else:
                    self._send(404, {"detail": f"not served by the fake controller: {url.path}"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _template(self, name: str) -> dict[str, Any]:
        with self._lock:
            number = self.templates.setdefault(name, len(self.templates) + 1)
        return {"id": number, "type": "job_template", "name": name,
                "summary_fields": {"organization": {"name": self.organization}},
                "related": {"launch": f"/api/v2/job_templates/{number}/launch/"},
                "ask_limit_on_launch": True, "ask_labels_on_launch": False, "ask_inventory_on_launch": False,
                "ask_variables_on_launch": True}

    def _launch(self, number: int, body: dict[str, Any]) -> int:
        with self._lock:
            name = next(n for n, i in self.templates.items() if i == number)
            self.launches.append(Launch(name, body))
            return len(self.launches)
