"""Alertmanager's webhook notification (version 4), read strictly: what serve acts on, or why it will not.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config : one notification is one group
(groupKey) of alerts with a common status; each alert has labels (alertname, environment, ...), annotations,
startsAt, endsAt and a fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jeju_play.errors import BadInput

VERSION = "4"
STATUSES = ("firing", "resolved")
MAX_BODY_BYTES = 1 << 20  # Alertmanager's own max_alerts default is 0 (all); a megabyte is thousands of alerts
MAX_ALERTS = 1000


class BadPayload(BadInput):
    """The request is not a notification serve can read: answered 400, nothing started."""


@dataclass(frozen=True)
class Alert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def environment(self) -> str:
        return self.labels.get("environment", "")

    def brief(self) -> dict[str, Any]:
        """What a run's record keeps of it."""
        return {"alertname": self.name, "status": self.status, "fingerprint": self.fingerprint,
                "startsAt": self.starts_at, "labels": dict(self.labels),
                "summary": self.annotations.get("summary", "")}


@dataclass(frozen=True)
class Notification:
    group_key: str
    status: str
    receiver: str
    alerts: list[Alert] = field(default_factory=list)
    truncated_alerts: int = 0


def json_object(body: bytes, limit: int, error: type[BadInput], expected: str) -> dict[str, Any]:
    """The JSON object a request's body holds, or `error` saying what it is instead (serve's bodies)."""
    if len(body) > limit:
        raise error(f"body of {len(body)} bytes is over the {limit} bytes serve reads")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"expected {expected}")
    return data


def parse(body: bytes) -> Notification:
    """The notification in `body`, or BadPayload saying what is wrong with it."""
    data = json_object(body, MAX_BODY_BYTES, BadPayload, "a JSON object (an Alertmanager webhook notification)")
    if str(data.get("version")) != VERSION:
        raise BadPayload(f"version {data.get('version')!r}: serve reads Alertmanager's webhook version {VERSION}")
    status = _text(data, "status", "notification")
    if status not in STATUSES:
        raise BadPayload(f"status {status!r} is not one of {', '.join(STATUSES)}")
    raw = data.get("alerts")
    if not isinstance(raw, list) or not raw:
        raise BadPayload("`alerts` must be a non-empty list")
    if len(raw) > MAX_ALERTS:
        raise BadPayload(f"{len(raw)} alerts in one notification; serve reads at most {MAX_ALERTS}")
    truncated = data.get("truncatedAlerts", 0)
    return Notification(group_key=_text(data, "groupKey", "notification"), status=status,
                        receiver=str(data.get("receiver") or ""),
                        alerts=[_alert(item, n) for n, item in enumerate(raw)],
                        truncated_alerts=truncated if isinstance(truncated, int) else 0)


def _alert(item: Any, number: int) -> Alert:
    where = f"alerts[{number}]"
    if not isinstance(item, dict):
        raise BadPayload(f"{where} must be an object")
    status = _text(item, "status", where)
    if status not in STATUSES:
        raise BadPayload(f"{where}.status {status!r} is not one of {', '.join(STATUSES)}")
    labels, annotations = _strings(item, "labels", where), _strings(item, "annotations", where)
    if not labels.get("alertname"):
        raise BadPayload(f"{where} has no alertname label")
    return Alert(status=status, labels=labels, annotations=annotations, starts_at=_text(item, "startsAt", where),
                 ends_at=str(item.get("endsAt") or ""), fingerprint=_text(item, "fingerprint", where))


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadPayload(f"{where} lacks `{key}` (a non-empty string)")
    return value


def _strings(data: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadPayload(f"{where}.{key} must map names to strings")
    return dict(value)
