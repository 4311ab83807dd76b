"""The comms double (jeju_lab/sim/comms_double.py) answers as Slack, Discord, PagerDuty Events v2 and Statuspage
do, records what it got, and fails on demand; the lab.yml keys it gives the inventory open its doors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from jeju_lab.sim.comms_double import (
    LAB_COMPONENTS,
    LAB_DISCORD,
    LAB_PAGE_ID,
    LAB_PAGERDUTY_KEYS,
    LAB_STATUSPAGE_KEY,
    CommsDouble,
)

Check = Callable[[CommsDouble, str, aiohttp.ClientSession], Awaitable[None]]
AUTH = {"Authorization": f"OAuth {LAB_STATUSPAGE_KEY}"}


def with_double(check: Check) -> None:
    async def main() -> None:
        double = CommsDouble()
        url = await double.start()
        try:
            async with aiohttp.ClientSession() as session:
                await check(double, url, session)
        finally:
            await double.stop()

    asyncio.run(main())


async def send(session: aiohttp.ClientSession, method: str, url: str, body: Any = None,
               headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, Any]:
    async with session.request(method, url, json=body, headers=headers,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
        text = await response.text()
        try:
            return response.status, await response.json(content_type=None) if text else None
        except ValueError:
            return response.status, text


def test_lab_inventory_keys_open_every_door() -> None:
    async def check(double: CommsDouble, url: str, session: aiohttp.ClientSession) -> None:
        inventory = double.inventory()
        assert set(inventory) == {"jeju_pagerduty_events_url", "jeju_statuspage", "jeju_comms_capture_url",
                                  "vault_slack_webhooks", "vault_discord_webhooks", "vault_pagerduty_routing_keys",
                                  "vault_statuspage_api_key"}
        assert set(inventory["vault_slack_webhooks"]) == {"incidents", "ops_alerts", "on_call"}
        assert set(inventory["vault_discord_webhooks"]) == {"incidents", "announcements"}
        assert set(inventory["vault_pagerduty_routing_keys"]) == {"on_call", "engineering_lead", "cto", "partners"}
        assert all(len(k) == 32 for k in inventory["vault_pagerduty_routing_keys"].values())
        assert inventory["jeju_statuspage"] == {"api_url": f"{url}/statuspage/v1", "page_id": LAB_PAGE_ID,
                                                "components": LAB_COMPONENTS}
        assert set(LAB_COMPONENTS) == {"block_production", "rpc", "bridge", "batches"}
        for hook in inventory["vault_slack_webhooks"].values():
            assert await send(session, "POST", hook, {"text": "hi"}) == (200, "ok")
        for hook in inventory["vault_discord_webhooks"].values():
            assert await send(session, "POST", hook, {"content": "hi"}) == (204, None)
        for key in inventory["vault_pagerduty_routing_keys"].values():
            status, reply = await send(session, "POST", inventory["jeju_pagerduty_events_url"],
                                       {"routing_key": key, "event_action": "resolve", "dedup_key": "d"})
            assert (status, reply) == (202, {"status": "success", "message": "Event processed", "dedup_key": "d"})
        status, _ = await send(session, "GET", f"{url}/statuspage/v1/pages/{LAB_PAGE_ID}/components",
                               headers={"Authorization": f"OAuth {inventory['vault_statuspage_api_key']}"})
        assert status == 200
        assert inventory["jeju_comms_capture_url"] == url and len(double.captured) == 10

    with_double(check)


def test_webhooks_refuse_what_the_real_ones_refuse() -> None:
    async def check(double: CommsDouble, url: str, session: aiohttp.ClientSession) -> None:
        slack = double.inventory()["vault_slack_webhooks"]["incidents"]
        assert await send(session, "POST", slack, {"username": "x"}) == (400, "invalid_payload")
        assert await send(session, "POST", f"{url}/slack/services/T1/B1/nope", {"text": "x"}) == (404, "no_service")
        hook_id, _token = LAB_DISCORD["incidents"]
        discord = double.inventory()["vault_discord_webhooks"]["incidents"]
        assert (await send(session, "POST", discord, {"username": "x"}))[0] == 400
        assert (await send(session, "POST", discord, {"content": "x" * 2001}))[0] == 400
        assert (await send(session, "POST", f"{url}/discord/api/webhooks/{hook_id}/wrong", {"content": "x"}))[0] == 401
        assert (await send(session, "POST", f"{url}/discord/api/webhooks/1/wrong", {"content": "x"}))[0] == 404
        assert [c["answered"] for c in double.captured] == [400, 404, 400, 400, 401, 404]

    with_double(check)


def test_pagerduty_invalid_events() -> None:
    async def check(double: CommsDouble, url: str, session: aiohttp.ClientSession) -> None:
        enqueue = f"{url}/pagerduty/v2/enqueue"
        key = LAB_PAGERDUTY_KEYS["on_call"]
        status, reply = await send(session, "POST", enqueue, {"routing_key": "short", "event_action": "trigger",
                                                              "payload": {"summary": "s", "source": "s",
                                                                          "severity": "info"}})
        assert status == 400 and reply["status"] == "invalid event" and reply["message"] == "Event object is invalid"
        assert reply["errors"] == ["Length of 'routing_key' is incorrect (should be 32 characters)"]
        status, reply = await send(session, "POST", enqueue, {"routing_key": key, "event_action": "page"})
        assert status == 400 and "'event_action' is invalid" in reply["errors"][0]
        status, reply = await send(session, "POST", enqueue, {"routing_key": key, "event_action": "trigger",
                                                              "payload": {"summary": "s"}})
        assert status == 400 and reply["errors"] == ["'payload.source' is missing or blank",
                                                     "'payload.severity' is missing or blank"]
        status, reply = await send(session, "POST", enqueue, {"routing_key": key, "event_action": "trigger",
                                                              "payload": {"summary": "s", "source": "s",
                                                                          "severity": "critical"}})
        assert status == 202 and len(reply["dedup_key"]) == 32  # PagerDuty makes one when none is given
        assert double.pagerduty_alerts == {reply["dedup_key"]: "triggered"}

    with_double(check)


def test_statuspage_incident_lifecycle_and_auth() -> None:
    async def check(double: CommsDouble, url: str, session: aiohttp.ClientSession) -> None:
        incidents = f"{url}/statuspage/v1/pages/{LAB_PAGE_ID}/incidents"
        rpc = LAB_COMPONENTS["rpc"]
        body = {"incident": {"name": "RPC slow", "status": "investigating", "body": "Looking.",
                             "components": {rpc: "degraded_performance"}, "component_ids": [rpc]}}
        assert (await send(session, "POST", incidents, body))[0] == 401
        assert (await send(session, "POST", incidents, body, headers={"Authorization": "OAuth wrong"}))[0] == 401
        assert (await send(session, "POST", f"{url}/statuspage/v1/pages/other/incidents", body, AUTH))[0] == 404
        assert (await send(session, "POST", incidents, {"incident": {"status": "investigating"}}, AUTH))[0] == 422
        status, created = await send(session, "POST", incidents, body, AUTH)
        assert status == 201 and created["name"] == "RPC slow" and created["status"] == "investigating"
        assert [c["id"] for c in created["components"]] == [rpc] and created["components"][0]["status"] == \
            "degraded_performance"
        assert created["incident_updates"][0]["body"] == "Looking."
        incident = f"{incidents}/{created['id']}"
        assert (await send(session, "PATCH", incident, {"incident": {"status": "fixed"}}, AUTH))[0] == 422
        assert (await send(session, "PATCH", f"{incidents}/nosuch", {"incident": {"status": "resolved"}}, AUTH))[0] \
            == 404
        status, resolved = await send(session, "PATCH", incident, {"incident": {
            "status": "resolved", "body": "Fixed.", "components": {rpc: "operational"}}}, AUTH)
        assert status == 200 and resolved["status"] == "resolved" and resolved["resolved_at"]
        status, fetched = await send(session, "GET", incident, headers=AUTH)
        assert status == 200 and [u["status"] for u in fetched["incident_updates"]] == ["resolved", "investigating"]
        assert fetched["components"][0]["status"] == "operational"

    with_double(check)


def test_faults_and_the_capture() -> None:
    async def check(double: CommsDouble, url: str, session: aiohttp.ClientSession) -> None:
        slack = double.inventory()["vault_slack_webhooks"]["on_call"]
        assert (await send(session, "POST", f"{url}/_faults", {"service": "slack", "status": 500, "count": 1}))[0] \
            == 200
        await send(session, "POST", f"{url}/_faults", {"service": "slack", "status": 429, "count": 1,
                                                       "retry_after": 2})
        await send(session, "POST", f"{url}/_faults", {"service": "slack", "timeout": True, "count": 1})
        assert (await send(session, "POST", f"{url}/_faults", {"service": "teams", "count": 1}))[0] == 400
        assert (await send(session, "POST", slack, {"text": "a"}))[0] == 500
        async with session.post(slack, json={"text": "b"}) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "2"
        started = time.monotonic()
        try:
            await send(session, "POST", slack, {"text": "c"}, timeout=0.3)
            raise AssertionError("the timeout fault answered before the client gave up")
        except TimeoutError:
            pass
        assert time.monotonic() - started < 2
        assert await send(session, "POST", slack, {"text": "d"}) == (200, "ok")
        deadline = time.monotonic() + 5
        while double.captured[2]["answered"] is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the held request answers once it sees its client gone
        _status, captured = await send(session, "GET", f"{url}/_captured")
        assert [(c["seq"], c["service"], c["body"]["text"], c["answered"]) for c in captured] == [
            (1, "slack", "a", 500), (2, "slack", "b", 429), (3, "slack", "c", 504), (4, "slack", "d", 200)]
        assert captured[0]["method"] == "POST" and captured[0]["path"].startswith("/slack/services/")
        assert captured[0]["time"].endswith("Z")
        await send(session, "POST", f"{url}/_faults", {"service": "pagerduty", "status": 503, "count": 3})
        assert (await send(session, "GET", f"{url}/_faults"))[1]["pagerduty"][0]["status"] == 503
        await send(session, "DELETE", f"{url}/_faults")
        await send(session, "DELETE", f"{url}/_captured")
        assert (await send(session, "GET", f"{url}/_captured"))[1] == []
        assert (await send(session, "GET", f"{url}/_faults"))[1]["pagerduty"] == []

    with_double(check)


def test_stop_releases_a_held_request_at_once() -> None:
    async def main() -> None:
        double = CommsDouble()
        url = await double.start()
        async with aiohttp.ClientSession() as session:
            await send(session, "POST", f"{url}/_faults", {"service": "discord", "timeout": True, "count": 1})
            hook = double.inventory()["vault_discord_webhooks"]["incidents"]
            held = asyncio.create_task(send(session, "POST", hook, {"content": "x"}, timeout=10))
            deadline = time.monotonic() + 5
            while not double.captured and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            started = time.monotonic()
            await double.stop()
            assert time.monotonic() - started < 2
            assert (await held)[0] == 504

    asyncio.run(main())
