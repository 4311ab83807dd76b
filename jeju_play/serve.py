"""`jeju-play serve`: Alertmanager's webhook in, runs out (jeju_play.receiver decides), gates answered over HTTP.

    POST /alertmanager   a webhook notification (version 4), bearer token: an environment's
                         vault_serve_webhook_token; it may start runs on that environment only
    POST /approve        {"run_id", "gate"?, "environment"?, "who"?}: approve a gate of a running run, bearer
    POST /deny           token: vault_serve_approval_token of the run's environment ({"reason"} for deny)
    POST /pause, /resume {"reason"?}: stop or restart automatic runs (an approval token)
    GET  /healthz, /runs

Every run is its own process (`jeju-play <incident> -i <env>`, its output in <state>/logs/), in its own session:
a run that crashes cannot take serve down, and a restarted serve finds its runs still running. Each open
incident of a served environment gets its status update when the catalog's update_every has passed since its
last message (`jeju-play incidents update ID --due`, also its own process; jeju_play.updates).
"""

from __future__ import annotations

import hmac
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jeju_lab.anvil import pid_alive
from jeju_play import alerts, approvals, environments, updates
from jeju_play import catalog as catalog_mod
from jeju_play.errors import BadInput, JejuPlayError
from jeju_play.paths import runs_dir, serve_dir
from jeju_play.receiver import Receiver, Served, ServedRun, ServeState
from jeju_play.record import now_iso, operator
from jeju_play.spawn import start_jeju_play

REAP_SECONDS = 0.5
MAX_APPROVAL_BYTES = 16 * 1024
DEFAULT_LISTEN = "127.0.0.1:8790"  # an environment without jeju_serve_listen
Printer = Any  # a callable(str) -> None: where serve says what it does (the terminal, a journal)


@dataclass
class ServeConfig:
    root: Path
    environments: list[str]
    host: str = "127.0.0.1"
    port: int = int(DEFAULT_LISTEN.rsplit(":", 1)[1])
    paused: bool = False
    state_dir: Path = field(default_factory=serve_dir)
    drain_seconds: float = 0.0  # on SIGTERM, wait this long at most for the runs it started (in a Pod they die)


def _running(overview: dict[str, Any]) -> list[str]:
    """The ids of the runs still going, from the receiver's overview (read under its lock)."""
    return [r["run_id"] for r in overview["runs"] if r["ended"] is None]


def listen_of(root: Path, names: list[str]) -> str:
    """Where serve listens when no --listen is given: the environments' jeju_serve_listen (the lab writes its own
    into lab.yml, where its Alertmanager sends); environments that do not agree need --listen."""
    found = {str(environments.load(root, name).variables.get("jeju_serve_listen") or DEFAULT_LISTEN)
             for name in names}
    if len(found) > 1:
        raise BadInput(f"The environments listen at different addresses ({', '.join(sorted(found))}, their "
                       "jeju_serve_listen): say where with --listen HOST:PORT.")
    return found.pop() if found else DEFAULT_LISTEN


def load_served(root: Path, names: list[str]) -> dict[str, Served]:
    """Each environment to serve, with its tokens; BadInput when one cannot be served."""
    if not names:
        raise BadInput("Name the environments to serve: `jeju-play serve -i local` (repeat -i for more).")
    served = {}
    for name in names:
        env = environments.load(root, name)
        item = Served.from_variables(env.name, env.production, env.variables)
        if not item.webhook_token:
            raise BadInput(f"{env.name} has no vault_serve_webhook_token (the bearer token Alertmanager sends): "
                           f"set it in {env.path}/group_vars/all/vault.yml" + (
                               ", or start the lab (`jeju-play lab up` writes it)." if env.name == "local" else "."))
        served[env.name] = item
    return served


class Launch:
    """Starts each run as `jeju-play <incident> -i <env>` in its own session; knows which of them still run."""

    def __init__(self, state_dir: Path):
        self.logs = state_dir / "logs"
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def __call__(self, run: ServedRun, fired: list[alerts.Alert]) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        alerts_file = self.logs / f"{run.run_id}.alerts.json"
        alerts_file.write_text(json.dumps([a.brief() for a in fired], indent=1), encoding="utf-8")
        child = start_jeju_play([run.incident, "-i", run.environment, "--json", "--alerts-file", str(alerts_file),
                                 "--run-id", run.run_id], self.logs / f"{run.run_id}.log")
        self.children[run.run_id] = child
        return child.pid

    def alive(self, run: ServedRun) -> bool:
        child = self.children.get(run.run_id)
        if child is not None:
            if child.poll() is None:
                return True
            del self.children[run.run_id]
            return False
        return run.pid is not None and pid_alive(run.pid)  # started by an earlier serve


class Service:
    """The receiver behind the HTTP endpoints."""

    def __init__(self, config: ServeConfig, say: Printer = print):
        self.config = config
        self.say = say
        self.served = load_served(config.root, config.environments)
        self.launch = Launch(config.state_dir)
        self.updates = updates.Poster(config.state_dir / "logs", list(self.served))
        self.runs_base = runs_dir()
        self.receiver = Receiver(catalog_mod.load(config.root), self.served, ServeState(config.state_dir),
                                 self.runs_base, self.launch, self.launch.alive)
        if config.paused:
            self.receiver.pause(operator(), "started with --paused")
        self.stopping = threading.Event()
        self.draining = threading.Event()  # SIGTERM with drain_seconds: no new notification, the runs go on

    # -- endpoints (each returns status and a JSON body) ---------------------------------------------------------
    def webhook(self, token: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        allowed = {name for name, s in self.served.items() if token and hmac.compare_digest(token, s.webhook_token)}
        if not allowed:
            return HTTPStatus.UNAUTHORIZED, {"error": "a webhook needs the bearer token of a served environment"}
        if self.draining.is_set():  # Alertmanager sends it again, to the serve that replaces this one
            return HTTPStatus.SERVICE_UNAVAILABLE, {"error": "serve is stopping (draining its runs): notification "
                                                             "not taken; Alertmanager sends it again"}
        try:
            notification = alerts.parse(body)
        except alerts.BadPayload as exc:
            self.receiver.state.log({"time": now_iso(), "rejected": str(exc)})
            return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        decisions = self.receiver.receive(notification, allowed)
        for decision in decisions:
            where = f"{decision.incident} on {decision.environment}: " if decision.incident else ""
            self.say(f"{decision.action:<6} {where}{decision.reason} [{', '.join(decision.alerts)}]")
        return HTTPStatus.OK, {"decisions": [d.as_dict() for d in decisions]}

    def answer(self, token: str | None, body: bytes, approved: bool) -> tuple[int, dict[str, Any]]:
        tokens = {name: s.approval_token for name, s in self.served.items() if s.approval_token}
        if not tokens:
            return HTTPStatus.NOT_FOUND, {"error": "no approval endpoint: no served environment has "
                                                   "vault_serve_approval_token; approve with `jeju-play approve`"}
        allowed = {name for name, value in tokens.items() if token and hmac.compare_digest(token, value)}
        verb = "approve" if approved else "deny"
        run_id = ""
        try:
            data = _json_object(body)
            run_id = str(data.get("run_id") or "")
            summary, _approvals = _run_summary(run_id)
            environment = str(summary.get("environment"))
            if environment not in allowed:
                self._log_answer(verb, run_id, None, "refused: the token is not this run's environment's")
                status = HTTPStatus.FORBIDDEN if allowed else HTTPStatus.UNAUTHORIZED
                return status, {"error": f"the bearer token is not an approval token of {environment}"}
            who = str(data.get("who") or "serve approval endpoint")
            given = approvals.Answer(approved=approved, who=who, how="the approval endpoint",
                                     environment=data.get("environment"), reason=str(data.get("reason") or ""))
            if not approved and not given.reason:
                raise BadInput("a denial says why: give a `reason`")
            gate = approvals.answer(run_id, data.get("gate"), given, self.runs_base)
        except JejuPlayError as exc:
            self._log_answer(verb, run_id, None, f"refused: {exc}")
            status = HTTPStatus.BAD_REQUEST if isinstance(exc, BadInput) else HTTPStatus.FORBIDDEN
            return status, {"error": str(exc)}
        self._log_answer(verb, run_id, str(gate.get("approval")), f"{verb}d by {who}")
        self.say(f"{verb:<6} run {run_id} gate {gate.get('approval')} by {who}")
        return HTTPStatus.OK, {"run_id": run_id, "gate": gate.get("approval"), "approved": approved}

    def pause(self, token: str | None, body: bytes, paused: bool) -> tuple[int, dict[str, Any]]:
        tokens = [s.approval_token for s in self.served.values() if s.approval_token]
        if not tokens:
            return HTTPStatus.NOT_FOUND, {"error": "no pause endpoint without vault_serve_approval_token; restart "
                                                   "serve with --paused"}
        if not token or not any(hmac.compare_digest(token, t) for t in tokens):
            return HTTPStatus.UNAUTHORIZED, {"error": "pausing needs an approval token"}
        try:
            data = _json_object(body) if body.strip() else {}
        except BadInput as exc:
            return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        if paused:
            self.receiver.pause(str(data.get("who") or "pause endpoint"), str(data.get("reason") or "paused"))
        else:
            self.receiver.resume()
        self.say("paused: no automatic runs" if paused else "resumed: alerts start runs again")
        return HTTPStatus.OK, {"paused": self.receiver.state.paused}

    def health(self) -> tuple[int, dict[str, Any]]:
        overview = self.receiver.overview()
        return HTTPStatus.OK, {"ok": True, "paused": bool(overview["paused"]), "running": _running(overview),
                               "draining": self.draining.is_set(), "environments": list(self.served)}

    def running(self) -> list[str]:
        return _running(self.receiver.overview())

    def drain(self, seconds: float, then: Any) -> None:
        """Take no new notification; call `then` once the runs started have ended, or after `seconds`."""
        self.draining.set()
        deadline = time.monotonic() + seconds
        waiting = self.running()
        if waiting:
            self.say(f"draining: no new alerts; waiting up to {seconds:.0f} s for {', '.join(waiting)}")
        while self.running() and time.monotonic() < deadline:
            time.sleep(REAP_SECONDS)
        left = self.running()
        self.say("drained: every run ended" if not left else f"drain time over; still running: {', '.join(left)}")
        then()

    def _log_answer(self, verb: str, run_id: str, gate: str | None, result: str) -> None:
        self.receiver.state.log({"time": now_iso(), "answer": verb, "run_id": run_id, "gate": gate,
                                 "result": result})

    # -- lifetime ------------------------------------------------------------------------------------------------
    def reap_forever(self) -> None:
        while not self.stopping.wait(REAP_SECONDS):
            ended, started = self.receiver.reap()
            for run in ended:
                self.say(f"ended  {run.incident} on {run.environment}: run {run.run_id} {run.outcome} "
                         f"(exit {run.exit_code})")
            for decision in started:
                self.say(f"{decision.action:<6} {decision.incident} on {decision.environment} (was queued): "
                         f"{decision.reason} [{', '.join(decision.alerts)}]")
            for item in self.updates.tick(time.monotonic()):
                self.say(f"update {item.incident_id}: the status update due {item.slot}")


def _json_object(body: bytes) -> dict[str, Any]:
    return alerts.json_object(body, MAX_APPROVAL_BYTES, BadInput, "a JSON object")


def _run_summary(run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from jeju_play import record

    if not run_id:
        raise BadInput("name the run: `run_id`")
    return record.load_run(run_id)


def handler_for(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "jeju-play-serve"

        def log_message(self, format: str, *args: Any) -> None:
            return  # serve says what it does itself; no access log

        def _token(self) -> str | None:
            header = self.headers.get("Authorization", "")
            return header[7:].strip() if header.lower().startswith("bearer ") else None

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _body(self, limit: int) -> bytes | None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > limit:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > limit else HTTPStatus.BAD_REQUEST,
                            {"error": f"body of {length} bytes: at most {limit}"})
                self.close_connection = True
                return None
            return self.rfile.read(length)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._reply(*service.health())
            elif self.path == "/runs":
                self._reply(HTTPStatus.OK, service.receiver.overview())
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no {self.path}: GET /healthz or /runs"})

        def do_POST(self) -> None:
            routes = {"/alertmanager": alerts.MAX_BODY_BYTES, "/approve": MAX_APPROVAL_BYTES,
                      "/deny": MAX_APPROVAL_BYTES, "/pause": MAX_APPROVAL_BYTES, "/resume": MAX_APPROVAL_BYTES}
            if self.path not in routes:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no {self.path}: POST /alertmanager, /approve, "
                                                            "/deny, /pause or /resume"})
                return
            body = self._body(routes[self.path])
            if body is None:
                return
            try:
                if self.path == "/alertmanager":
                    self._reply(*service.webhook(self._token(), body))
                elif self.path in ("/approve", "/deny"):
                    self._reply(*service.answer(self._token(), body, self.path == "/approve"))
                else:
                    self._reply(*service.pause(self._token(), body, self.path == "/pause"))
            except Exception as exc:  # one bad request never takes serve down
                service.say(f"error  {self.path}: {type(exc).__name__}: {exc}")
                self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"})

    return Handler


def serve_forever(config: ServeConfig, say: Printer = print, ready: threading.Event | None = None) -> None:
    """Run until SIGTERM / Ctrl-C; runs already started go on (their state is on disk). With drain_seconds, a
    SIGTERM first waits for them (a Pod's processes all end with it), answering approvals but no new alerts."""
    import signal

    service = Service(config, say)
    try:
        server = ThreadingHTTPServer((config.host, config.port), handler_for(service))
    except OSError as exc:
        raise BadInput(f"cannot listen on {config.host}:{config.port}: {exc.strerror}. Choose another "
                       "--listen address.") from exc
    server.daemon_threads = True
    reaper = threading.Thread(target=service.reap_forever, name="reaper", daemon=True)
    reaper.start()

    def stop(_signum: int, _frame: Any) -> None:  # with --drain, the first SIGTERM drains and a second one stops
        if config.drain_seconds > 0 and not service.draining.is_set():
            threading.Thread(target=service.drain, args=(config.drain_seconds, server.shutdown), daemon=True).start()
        else:
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, stop)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    tokens = [name for name, s in service.served.items() if s.approval_token]
    say(f"jeju-play serve on http://{host}:{port} for {', '.join(service.served)}; approval endpoint: "
        f"{', '.join(tokens) if tokens else 'off'}; state in {config.state_dir}"
        + ("; PAUSED" if service.receiver.state.paused else ""))
    if ready is not None:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        service.stopping.set()
        server.server_close()
        signal.signal(signal.SIGTERM, previous)
        running = service.running()
        say("serve stopped" + (f"; still running: {', '.join(running)}" if running else ""))
