"""Test-only stand-in for the event source ansible.eda.alertmanager (the ansible.eda collection is not in the
`ansible` pip bundle and there is no Galaxy on our machines).

It takes the real plugin's arguments with the same defaults and puts on the queue exactly the events the real
webhook handler puts there (ansible/event-driven-ansible, extensions/eda/plugins/event_source/alertmanager.py):
for each notification, unless skip_original_data, `{"payload": ..., "meta": {"endpoint", "headers"}}`; then for
each alert found at data_alerts_path, `{"alert": ..., "meta": {"endpoint", "headers", "hosts"}}` with the host
read at data_host_path, port removed. Instead of listening for HTTP it replays notifications from the JSON lines
file named by the environment variable JEJU_EDA_REPLAY, one object a line:
`{"endpoint": "alerts", "payload": <Alertmanager webhook v4 body>, "pause": <seconds to wait before it>}`,
and returns when the file is done (ansible-rulebook then shuts down).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

_HEADERS = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"}


def _get(data: Any, path: str, separator: str) -> Any:
    """dpath.get for plain paths: KeyError when a part is missing."""
    for part in path.split(separator):
        if isinstance(data, list) and part.isdigit():
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(path)
    return data


def clean_host(host: str) -> str:
    return host.split(":", maxsplit=1)[0] if ":" in host else host


def events_for(payload: Any, endpoint: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the real plugin's webhook() puts on its queue for one POST."""
    separator = str(args.get("data_path_separator", "."))
    alerts_path = str(args.get("data_alerts_path", "alerts"))
    host_path = str(args.get("data_host_path", "labels.instance"))
    headers = dict(_HEADERS)
    events = []
    if not bool(args.get("skip_original_data", False)):
        events.append({"payload": payload, "meta": {"endpoint": endpoint, "headers": headers}})
    if not alerts_path:
        alerts = [payload]
    else:
        try:
            alerts = _get(payload, alerts_path, separator)
            if not isinstance(alerts, list):
                alerts = [alerts]
        except KeyError:
            alerts = []
    for alert in alerts:
        hosts = []
        if host_path:
            with contextlib.suppress(KeyError):
                hosts.append(clean_host(_get(alert, host_path, separator)))
        events.append({"alert": alert, "meta": {"endpoint": endpoint, "headers": headers, "hosts": hosts}})
    return events


async def main(queue: asyncio.Queue[Any], args: dict[str, Any]) -> None:
    path = os.environ["JEJU_EDA_REPLAY"]
    with open(path, encoding="utf-8") as handle:
        notifications = [json.loads(line) for line in handle if line.strip()]
    for notification in notifications:
        if notification.get("pause"):
            await asyncio.sleep(float(notification["pause"]))
        for event in events_for(notification["payload"], notification.get("endpoint", "alerts"), args):
            await queue.put(event)
