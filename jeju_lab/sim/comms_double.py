"""The comms double: Slack and Discord incoming webhooks, PagerDuty Events API v2 and the Atlassian Statuspage
REST API on one loopback port, so the jeju.ops notification modules are tested with real HTTP.

Routes (the real services' paths under a prefix per service):

- `POST /slack/services/{team}/{bot}/{secret}`: 200 `ok`; 400 `invalid_payload` without `text`; 404 `no_service`
  for a webhook the lab does not know (`LAB_SLACK_PATHS`).
- `POST /discord/api/webhooks/{id}/{token}`: 204; 400 without `content` or with more than 2000 characters;
  404 `Unknown Webhook`, 401 `Invalid Webhook Token` (`LAB_DISCORD`).
- `POST /pagerduty/v2/enqueue`: 202 `{"status": "success", "message": "Event processed", "dedup_key": ...}`;
  400 `{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}` for a routing key that
  is not 32 characters, an unknown `event_action` or a trigger without `payload.summary` / `source` / `severity`.
- `/statuspage/v1/pages/{page}/...`: `POST incidents` (201), `PATCH incidents/{id}` (200, 404 for an unknown
  id), `GET incidents/{id}`, `GET components`; 401 without `Authorization: OAuth <LAB_STATUSPAGE_KEY>`,
  404 for another page, 422 for an invalid status, component or component status.

For tests: `GET /_captured` lists every request to a service in order (`seq`, `time`, `service`, `method`,
`path`, `body`, `answered`), `DELETE /_captured` forgets them. `POST /_faults` with
`{"service": "slack", "status": 500 | 429, "count": N}` (optional `retry_after` seconds for the header) or
`{"service": ..., "timeout": true, "count": N}` (the request is held until the client gives up, at most
`hold_seconds`, default 30, then answered 504) makes the next N requests to that service fail so; faults queue
in order. `GET /_faults` lists what is pending, `DELETE /_faults` clears them.

`python -m jeju_lab.sim.comms_double --port N` runs it on its own and prints the lab's webhook URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import string
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from jeju_lab.sim.server import Handler, LoopbackServer

# The lab's fake credentials (nothing real: they only open the double's doors); lab.yml names them.
LAB_SLACK_PATHS = {
    "incidents": "T0JEJULAB0/B0INCIDENTS/labSlackIncidentsHook0001",
    "ops_alerts": "T0JEJULAB0/B0OPSALERTS/labSlackOpsAlertsHook0002",
    "on_call": "T0JEJULAB0/B0ONCALL000/labSlackOnCallHook0000003",
}
LAB_DISCORD = {  # name -> (webhook id, webhook token)
    "incidents": ("1310000000000000001", "labDiscordIncidentsToken-0001-jeju-lab-webhook"),
    "announcements": ("1310000000000000002", "labDiscordAnnouncementsToken-0002-jeju-lab-hook"),
}
LAB_PAGERDUTY_KEYS = {  # Events API v2 integration keys: 32 characters
    "on_call": "labpdoncall0000000000000000000r1",
    "engineering_lead": "labpdengineeringlead0000000000r2",
    "cto": "labpdcto000000000000000000000r03",
    "partners": "labpdpartners0000000000000000r04",
}
LAB_STATUSPAGE_KEY = "labStatuspageApiKey-jeju-0001"
LAB_PAGE_ID = "jejulab0page"
LAB_COMPONENTS = {  # inventory name -> Statuspage component id
    "block_production": "cmpblockprod",
    "rpc": "cmprpc000001",
    "bridge": "cmpbridge001",
    "batches": "cmpbatches01",
}
COMPONENT_NAMES = {"block_production": "Block production", "rpc": "RPC", "bridge": "Bridge", "batches": "Batches"}

SERVICES = ("slack", "discord", "pagerduty", "statuspage")
PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_STATES = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}
PD_SEVERITIES = ("critical", "error", "warning", "info")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")
DISCORD_MAX_CONTENT = 2000
DEFAULT_HOLD_SECONDS = 30.0
HOLD_POLL_SECONDS = 0.02  # how often a held request checks whether its client gave up


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id(length: int = 12) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Fault:
    status: int = 500
    timeout: bool = False
    retry_after: float | None = None
    hold_seconds: float = DEFAULT_HOLD_SECONDS

    def to_dict(self) -> dict[str, Any]:
        return {"status": 504 if self.timeout else self.status, "timeout": self.timeout,
                "retry_after": self.retry_after, "hold_seconds": self.hold_seconds}


async def _body(request: web.Request) -> Any:
    """The request's body as JSON, else text, else None (aiohttp keeps the bytes: handlers read it again)."""
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _service_of(path: str) -> str | None:
    head = path.lstrip("/").split("/", 1)[0]
    return head if head in SERVICES else None


class CommsDouble:
    """Slack, Discord, PagerDuty Events v2 and Statuspage on one loopback port (see the module's docstring)."""

    def __init__(self) -> None:
        self.captured: list[dict[str, Any]] = []
        self.faults: dict[str, deque[Fault]] = {s: deque() for s in SERVICES}
        self.incidents: dict[str, dict[str, Any]] = {}
        self.components: dict[str, dict[str, Any]] = {
            cid: {"id": cid, "page_id": LAB_PAGE_ID, "name": COMPONENT_NAMES[name], "status": "operational"}
            for name, cid in LAB_COMPONENTS.items()}
        self.pagerduty_alerts: dict[str, str] = {}  # dedup_key -> triggered | acknowledged | resolved
        self._seq = 0
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._capture])
        app.router.add_get("/_captured", self.get_captured)
        app.router.add_delete("/_captured", self.clear_captured)
        app.router.add_get("/_faults", self.get_faults)
        app.router.add_post("/_faults", self.add_fault)
        app.router.add_delete("/_faults", self.clear_faults)
        app.router.add_post("/slack/services/{team}/{bot}/{secret}", self.slack)
        app.router.add_post("/discord/api/webhooks/{id}/{token}", self.discord)
        app.router.add_post("/pagerduty/v2/enqueue", self.pagerduty)
        sp = "/statuspage/v1/pages/{page}"
        app.router.add_post(sp + "/incidents", self.create_incident)
        app.router.add_patch(sp + "/incidents/{incident}", self.update_incident)
        app.router.add_get(sp + "/incidents/{incident}", self.get_incident)
        app.router.add_get(sp + "/components", self.get_components)
        self.server: LoopbackServer | None = None
        self._app = app

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the comms double is not started")
        return self.server.url

    async def start(self, port: int = 0) -> str:
        self._stopping.clear()
        self.server = await LoopbackServer(self._app, port).start()
        return self.server.url

    async def stop(self) -> None:
        self._stopping.set()  # held (timeout-fault) requests answer now
        if self.server is not None:
            await self.server.stop()

    # -- what the lab inventory says -------------------------------------------------------------------------
    def inventory(self) -> dict[str, Any]:
        """The lab.yml keys that point the notification modules at this double."""
        base = self.url
        return {
            "jeju_pagerduty_events_url": f"{base}/pagerduty/v2/enqueue",
            "jeju_statuspage": {"api_url": f"{base}/statuspage/v1", "page_id": LAB_PAGE_ID,
                                "components": dict(LAB_COMPONENTS)},
            "jeju_comms_capture_url": base,
            "vault_slack_webhooks": {name: f"{base}/slack/services/{path}" for name, path in LAB_SLACK_PATHS.items()},
            "vault_discord_webhooks": {name: f"{base}/discord/api/webhooks/{hook_id}/{token}"
                                       for name, (hook_id, token) in LAB_DISCORD.items()},
            "vault_pagerduty_routing_keys": dict(LAB_PAGERDUTY_KEYS),
            "vault_statuspage_api_key": LAB_STATUSPAGE_KEY,
        }

    # -- capture and faults ----------------------------------------------------------------------------------
    @web.middleware
    async def _capture(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        service = _service_of(request.path)
        if service is None:
            response: web.StreamResponse = await handler(request)
            return response
        body = await _body(request)
        self._seq += 1
        entry: dict[str, Any] = {"seq": self._seq, "time": _now(), "service": service, "method": request.method,
                                 "path": request.path, "body": body, "answered": None}
        self.captured.append(entry)
        fault = self.faults[service].popleft() if self.faults[service] else None
        if fault is not None:
            response = await self._fail(request, fault)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # no such route or method: answered and captured all the same
                response = web.Response(status=exc.status, text=exc.text or exc.reason)
        entry["answered"] = response.status
        return response

    async def _fail(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.timeout:
            deadline = time.monotonic() + fault.hold_seconds
            while time.monotonic() < deadline and not self._stopping.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break  # the client gave up
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), HOLD_POLL_SECONDS)
            return web.json_response({"error": "simulated timeout"}, status=504)
        headers = {}
        if fault.retry_after is not None:
            retry_after = fault.retry_after
            headers["Retry-After"] = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        text = "rate limited" if fault.status == 429 else "simulated fault"
        return web.json_response({"status": "error", "message": text}, status=fault.status, headers=headers)

    async def get_captured(self, request: web.Request) -> web.Response:
        return web.json_response(self.captured)

    async def clear_captured(self, request: web.Request) -> web.Response:
        self.captured.clear()
        return web.json_response({"cleared": True})

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response({s: [f.to_dict() for f in q] for s, q in self.faults.items()})

    async def add_fault(self, request: web.Request) -> web.Response:
        try:
            spec = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        service = spec.get("service") if isinstance(spec, dict) else None
        if service not in SERVICES:
            return web.json_response({"error": f"service must be one of {', '.join(SERVICES)}"}, status=400)
        count = spec.get("count", 1)
        if not isinstance(count, int) or count < 1:
            return web.json_response({"error": "count must be a positive integer"}, status=400)
        timeout = bool(spec.get("timeout"))
        status = spec.get("status", 504 if timeout else 500)
        if not isinstance(status, int) or not 400 <= status <= 599:
            return web.json_response({"error": "status must be an HTTP error code (400-599)"}, status=400)
        fault = Fault(status=status, timeout=timeout, retry_after=spec.get("retry_after"),
                      hold_seconds=float(spec.get("hold_seconds", DEFAULT_HOLD_SECONDS)))
        self.faults[service].extend(fault for _ in range(count))
        return web.json_response({"service": service, "pending": len(self.faults[service])})

    async def clear_faults(self, request: web.Request) -> web.Response:
        for queue in self.faults.values():
            queue.clear()
        return web.json_response({"cleared": True})

    # -- Slack and Discord incoming webhooks -------------------------------------------------------------------
    async def slack(self, request: web.Request) -> web.Response:
        path = "/".join(request.match_info[k] for k in ("team", "bot", "secret"))
        if path not in LAB_SLACK_PATHS.values():
            return web.Response(status=404, text="no_service")
        body = await _body(request)
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return web.Response(status=400, text="invalid_payload" if isinstance(body, dict) else "invalid_json")
        return web.Response(status=200, text="ok")

    async def discord(self, request: web.Request) -> web.Response:
        known = dict(LAB_DISCORD.values())
        hook_id, token = request.match_info["id"], request.match_info["token"]
        if hook_id not in known:
            return web.json_response({"message": "Unknown Webhook", "code": 10015}, status=404)
        if token != known[hook_id]:
            return web.json_response({"message": "Invalid Webhook Token", "code": 50027}, status=401)
        body = await _body(request)
        content = body.get("content") if isinstance(body, dict) else None
        if not content and not (isinstance(body, dict) and body.get("embeds")):
            return web.json_response({"message": "Cannot send an empty message", "code": 50006}, status=400)
        if isinstance(content, str) and len(content) > DISCORD_MAX_CONTENT:
            return web.json_response({"message": "Invalid Form Body", "code": 50035,
                                      "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                 "message": "Must be 2000 or fewer in length."}]}}}, status=400)
        return web.Response(status=204)

    # -- PagerDuty Events API v2 -------------------------------------------------------------------------------
    async def pagerduty(self, request: web.Request) -> web.Response:
        event = await _body(request)
        if not isinstance(event, dict):
            return self._pd_invalid(["Event object must be a JSON object"])
        errors = []
        routing_key = event.get("routing_key")
        if not isinstance(routing_key, str) or len(routing_key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        action = event.get("event_action")
        if action not in PD_ACTIONS:
            errors.append("'event_action' is missing or blank" if not action else
                          "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
        dedup_key = event.get("dedup_key")
        if action in ("acknowledge", "resolve") and not dedup_key:
            errors.append("'dedup_key' is missing or blank")
        if action == "trigger":
            payload = event.get("payload")
            payload = payload if isinstance(payload, dict) else {}
            for field in ("summary", "source", "severity"):
                if not payload.get(field):
                    errors.append(f"'payload.{field}' is missing or blank")
            if payload.get("severity") and payload["severity"] not in PD_SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
            if len(str(payload.get("summary", ""))) > 1024:
                errors.append("'payload.summary' is too long (must be 1024 characters or fewer)")
        if errors:
            return self._pd_invalid(errors)
        dedup_key = str(dedup_key or secrets.token_hex(16))
        self.pagerduty_alerts[dedup_key] = PD_STATES[str(action)]
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": dedup_key},
                                 status=202)

    @staticmethod
    def _pd_invalid(errors: list[str]) -> web.Response:
        return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                  "errors": errors}, status=400)

    # -- Statuspage --------------------------------------------------------------------------------------------
    def _sp_refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization", "") != f"OAuth {LAB_STATUSPAGE_KEY}":
            return web.json_response({"error": "Could not authenticate"}, status=401)
        if request.match_info["page"] != LAB_PAGE_ID:
            return web.json_response({"error": "Page not found"}, status=404)
        return None

    def _sp_validate(self, fields: dict[str, Any], creating: bool) -> list[str]:
        problems = []
        if creating and not fields.get("name"):
            problems.append("Name can't be blank")
        if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
            problems.append(f"Status must be one of {', '.join(INCIDENT_STATUSES)}")
        components = fields.get("components") or {}
        if not isinstance(components, dict):
            problems.append("components must be a map of component id to status")
            components = {}
        for cid, status in components.items():
            if cid not in self.components:
                problems.append(f"Component {cid} not found")
            elif status not in COMPONENT_STATUSES:
                problems.append(f"Component status {status} is invalid")
        for cid in fields.get("component_ids") or []:
            if cid not in self.components:
                problems.append(f"Component {cid} not found")
        return problems

    def _sp_apply(self, incident: dict[str, Any], fields: dict[str, Any]) -> None:
        now = _now()
        affected = []
        for cid, status in (fields.get("components") or {}).items():
            component = self.components[cid]
            affected.append({"code": cid, "name": component["name"], "old_status": component["status"],
                             "new_status": status})
            component.update(status=status, updated_at=now)
            if cid not in incident["_component_ids"]:
                incident["_component_ids"].append(cid)
        for cid in fields.get("component_ids") or []:
            if cid not in incident["_component_ids"]:
                incident["_component_ids"].append(cid)
        if fields.get("name"):
            incident["name"] = fields["name"]
        incident["status"] = fields.get("status") or incident["status"]
        incident["updated_at"] = now
        if incident["status"] == "resolved":
            incident["resolved_at"] = incident.get("resolved_at") or now
        incident["incident_updates"].insert(0, {
            "id": _new_id(), "incident_id": incident["id"], "status": incident["status"],
            "body": fields.get("body") or "", "created_at": now, "updated_at": now, "display_at": now,
            "affected_components": affected})

    def _sp_view(self, incident: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in incident.items() if not k.startswith("_")}
        view["components"] = [dict(self.components[cid]) for cid in incident["_component_ids"]]
        return view

    async def _sp_fields(self, request: web.Request) -> dict[str, Any] | web.Response:
        body = await _body(request)
        fields = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return web.json_response({"error": "incident is missing"}, status=400)
        return fields

    async def create_incident(self, request: web.Request) -> web.Response:
        refusal = self._sp_refusal(request)
        if refusal is not None:
            return refusal
        fields = await self._sp_fields(request)
        if isinstance(fields, web.Response):
            return fields
        problems = self._sp_validate(fields, creating=True)
        if problems:
            return web.json_response({"error": problems}, status=422)
        incident_id = _new_id(14)
        now = _now()
        incident: dict[str, Any] = {
            "id": incident_id, "page_id": LAB_PAGE_ID, "name": fields["name"],
            "status": fields.get("status") or "investigating", "impact": fields.get("impact_override") or "minor",
            "created_at": now, "updated_at": now, "resolved_at": None,
            "shortlink": f"https://stspg.io/{incident_id[:6]}", "incident_updates": [], "_component_ids": []}
        self.incidents[incident_id] = incident
        self._sp_apply(incident, fields)
        return web.json_response(self._sp_view(incident), status=201)

    async def update_incident(self, request: web.Request) -> web.Response:
        refusal = self._sp_refusal(request)
        if refusal is not None:
            return refusal
        incident = self.incidents.get(request.match_info["incident"])
        if incident is None:
            return web.json_response({"error": "Incident not found"}, status=404)
        fields = await self._sp_fields(request)
        if isinstance(fields, web.Response):
            return fields
        problems = self._sp_validate(fields, creating=False)
        if problems:
            return web.json_response({"error": problems}, status=422)
        self._sp_apply(incident, fields)
        return web.json_response(self._sp_view(incident))

    async def get_incident(self, request: web.Request) -> web.Response:
        refusal = self._sp_refusal(request)
        if refusal is not None:
            return refusal
        incident = self.incidents.get(request.match_info["incident"])
        if incident is None:
            return web.json_response({"error": "Incident not found"}, status=404)
        return web.json_response(self._sp_view(incident))

    async def get_components(self, request: web.Request) -> web.Response:
        refusal = self._sp_refusal(request)
        if refusal is not None:
            return refusal
        return web.json_response(list(self.components.values()))


async def _serve(port: int) -> None:
    double = CommsDouble()
    url = await double.start(port)
    print(f"comms double on {url} (Ctrl-C stops it)")
    print(json.dumps(double.inventory(), indent=2), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await double.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
