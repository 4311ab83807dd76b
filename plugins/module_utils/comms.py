# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""What the notification modules (chat_message, pagerduty_event, statuspage) share.

- COMMS_ARGS: the options of the doc fragment jeju.ops.comms (ledger, key, retry) and the TLS options.
- post_json(): one JSON request with retries and exponential backoff on connection errors, timeouts, HTTP 5xx
  and 429 (Retry-After honoured, capped); other 4xx are final. A delivery failure is a result, never a raise.
- CommsLedger: the idempotency ledger, a JSON-lines file (one line per attempt sequence, fsynced) under an
  fcntl lock, so the same key is sent once even by two runs at a time.
- Redactor: webhook URLs, routing keys and API keys never reach the result or the ledger.
- run_notification(): the module flow (ledger check, check mode, send, record, result) around a Message.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import time
import urllib.error
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.jeju.ops.plugins.module_utils.common import TLS_ARGS, tls_params

SERVICE_NAMES = {"slack": "Slack", "discord": "Discord", "pagerduty": "PagerDuty", "statuspage": "Statuspage"}
# Fields a service's ledger lines and results carry besides the common ones.
SERVICE_FIELDS = {"pagerduty": ("dedup_key",), "statuspage": ("incident_id",)}
RETRY_DEFAULTS = dict(attempts=4, backoff_seconds=0.5, max_backoff_seconds=4.0, timeout_seconds=5.0)
MAX_ATTEMPTS = 20
MASK = "********"  # what Ansible puts in place of a no_log value
DETAIL_CHARS = 300

COMMS_ARGS = dict(
    ledger=dict(type="path"),
    key=dict(type="str", no_log=False),
    retry=dict(type="dict", apply_defaults=True, options=dict(
        attempts=dict(type="int", default=RETRY_DEFAULTS["attempts"]),
        backoff_seconds=dict(type="float", default=RETRY_DEFAULTS["backoff_seconds"]),
        max_backoff_seconds=dict(type="float", default=RETRY_DEFAULTS["max_backoff_seconds"]),
        timeout_seconds=dict(type="float", default=RETRY_DEFAULTS["timeout_seconds"]),
    )),
    **TLS_ARGS,
)


def comms_args(**extra):
    """The module's argument spec: its own options and the shared ones (doc fragment jeju.ops.comms)."""
    spec = {k: dict(v) for k, v in COMMS_ARGS.items()}
    spec.update(extra)
    return spec


class ArgumentError(Exception):
    """A bad argument: the module fails with this message (it says what to fix)."""


class NothingToSend(Exception):
    """Nothing to deliver (e.g. no incident to resolve): skipped, with this message as a warning."""


# -- redaction --------------------------------------------------------------------------------------------------
_PUBLIC_SEGMENTS = frozenset(("services", "api", "webhooks", "hooks", "slack", "discord", "v1", "v2", "enqueue",
                              "pages", "incidents", "statuspage", "pagerduty"))


def url_secrets(url):
    """A webhook URL and the parts of its path that carry the credential (team, bot, secret, id, token)."""
    rest = url.partition("://")[2]
    host, _sep, path = rest.partition("/")
    found = [url, path] if path else [url]
    userinfo = host.rpartition("@")[0]
    if userinfo:
        found.append(userinfo)
    found += [seg for seg in path.split("?")[0].split("/") if len(seg) >= 6 and seg.lower() not in _PUBLIC_SEGMENTS]
    return found


class Redactor:
    def __init__(self, secrets=()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text):
        if text is None:
            return None
        text = str(text)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def require_http_url(url, option):
    if not isinstance(url, str) or url.partition("://")[0].lower() not in ("http", "https") or "://" not in url \
            or not url.partition("://")[2].strip("/"):
        raise ArgumentError(f"{option} is not an http(s) URL (value not shown); give the full URL, "
                            "e.g. https://hooks.slack.com/services/... or https://events.pagerduty.com/v2/enqueue")


# -- HTTP with retries ------------------------------------------------------------------------------------------
class Delivery:
    """How an attempt sequence ended. `reply` is the last answer's body (parsed JSON, else text)."""

    def __init__(self, delivered, attempts, status, error, reply=None, elapsed=0.0):
        self.delivered = delivered
        self.attempts = attempts
        self.status = status
        self.error = error
        self.reply = reply
        self.elapsed = elapsed


def retry_settings(params):
    retry = dict(RETRY_DEFAULTS)
    retry.update({k: v for k, v in (params.get("retry") or {}).items() if v is not None})
    if not 1 <= retry["attempts"] <= MAX_ATTEMPTS:
        raise ArgumentError(f"retry.attempts must be between 1 and {MAX_ATTEMPTS} (got {retry['attempts']})")
    for name in ("backoff_seconds", "max_backoff_seconds"):
        if retry[name] < 0:
            raise ArgumentError(f"retry.{name} must not be negative (got {retry[name]})")
    if retry["timeout_seconds"] <= 0:
        raise ArgumentError(f"retry.timeout_seconds must be positive (got {retry['timeout_seconds']})")
    return retry


def time_bound(retry):
    """The longest an attempt sequence may take: attempts * (timeout + max backoff)."""
    return retry["attempts"] * (retry["timeout_seconds"] + retry["max_backoff_seconds"])


def _parse_reply(raw):
    if not raw:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        return json.loads(text)
    except ValueError:
        return text


def retry_after_seconds(value):
    """Retry-After as seconds (delay-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _is_timeout(exc):
    reason = getattr(exc, "reason", None)
    return isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError)


def _reason(exc):
    reason = getattr(exc, "reason", None) or exc
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


def post_json(url, payload, service, retry, tls=None, headers=None, method="POST", describe=None,
              redactor=None, sleep=time.sleep):
    """Send `payload` as JSON; retry connection errors, timeouts, 5xx and 429. Returns a Delivery (never raises
    for the service's sake). `describe(status, reply)` words a refusal; messages never hold the URL."""
    label = SERVICE_NAMES.get(service, service)
    redactor = redactor or Redactor(url_secrets(url))
    tls = tls or {}
    body = json.dumps(payload).encode("utf-8")
    all_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    all_headers.update(headers or {})
    started = time.monotonic()
    deadline = started + time_bound(retry)
    attempts, status, reply, problem = 0, None, None, None
    for attempt in range(1, retry["attempts"] + 1):
        attempts = attempt
        status, reply, problem, wait = None, None, None, None
        timeout = max(0.05, min(retry["timeout_seconds"], deadline - time.monotonic()))
        try:
            with open_url(url, data=body, headers=all_headers, method=method, timeout=timeout,
                          validate_certs=tls.get("validate_certs", True), ca_path=tls.get("ca_path"),
                          http_agent="jeju.ops", use_netrc=False, follow_redirects="none") as response:
                status = response.status
                reply = _parse_reply(response.read())
            if 200 <= status < 300:
                return Delivery(True, attempts, status, None, reply, time.monotonic() - started)
            problem = "answered"  # 1xx/3xx: not a delivery
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                reply = _parse_reply(exc.read())
            except (OSError, http.client.HTTPException):
                reply = None
            if status != 429 and status < 500:
                detail = describe(status, reply) if describe else _short(reply)
                error = f"{label} answered {status} after {_n(attempts)}" + (f": {detail}" if detail else "")
                return Delivery(False, attempts, status, redactor.scrub(error), reply, time.monotonic() - started)
            problem = "answered"
            wait = retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None)
        except (OSError, http.client.HTTPException, UrlConnectionError, ValueError) as exc:
            problem = f"timed out ({retry['timeout_seconds']:g} s)" if _is_timeout(exc) \
                else f"could not be reached ({_reason(exc)})"
        if attempt == retry["attempts"]:
            break
        if wait is None:
            wait = retry["backoff_seconds"] * 2 ** (attempt - 1)
        wait = min(wait, retry["max_backoff_seconds"], max(0.0, deadline - time.monotonic()))
        if time.monotonic() + wait >= deadline:
            break
        sleep(wait)
    if status is not None:
        error = f"{label} answered {status} after {_n(attempts)}"
    else:
        error = f"{label} {problem} after {_n(attempts)}"
    return Delivery(False, attempts, status, redactor.scrub(error), reply, time.monotonic() - started)


def _n(attempts):
    return f"{attempts} attempt" + ("" if attempts == 1 else "s")


def _short(reply):
    if reply is None or reply == "":
        return ""
    text = reply if isinstance(reply, str) else json.dumps(reply, sort_keys=True)
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"


# -- the ledger -------------------------------------------------------------------------------------------------
class LedgerBusy(Exception):
    pass


def utc_now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CommsLedger:
    """Append-only JSON lines: one line per attempt sequence; a torn last line (a run killed mid-write) is skipped."""

    def __init__(self, path):
        self.path = path
        self._fd = None

    def entries(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found

    def sent(self, key):
        """The last delivered line for this key, or None."""
        hits = [e for e in self.entries() if e.get("key") == key and e.get("delivered") is True]
        return hits[-1] if hits else None

    def incident_for(self, key):
        """The newest delivered Statuspage incident whose key shares this key's prefix (up to the first "/")."""
        prefix = key.split("/", 1)[0]
        for entry in reversed(self.entries()):
            entry_key = entry.get("key")
            if (entry.get("service") == "statuspage" and entry.get("delivered") is True and entry.get("incident_id")
                    and isinstance(entry_key, str) and entry_key.split("/", 1)[0] == prefix):
                return entry["incident_id"]
        return None

    @contextmanager
    def locked(self, timeout):
        """Exclusive flock on the ledger itself (created when missing) while a key is checked, sent, recorded."""
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LedgerBusy(f"the ledger {self.path} stayed locked by another run for {timeout:.0f} s; "
                                         "nothing was sent") from None
                    time.sleep(0.05)
            self._fd = fd
            try:
                yield self
            finally:
                self._fd = None
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def append(self, entry):
        line = (json.dumps(entry, sort_keys=False) + "\n").encode("utf-8")
        if self._fd is not None:
            os.write(self._fd, line)
            os.fsync(self._fd)
            return entry
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry


# -- the module flow --------------------------------------------------------------------------------------------
class Message:
    """One request to a service and what the ledger and the result say about it (no secrets in would_send)."""

    def __init__(self, service, action, url, payload, method="POST", headers=None, secrets=(), secret_url=False,
                 would_send=None, fields=None, describe=None, on_reply=None):
        self.service = service
        self.action = action
        self.url = url
        self.payload = payload
        self.method = method
        self.headers = headers or {}
        # A webhook URL is the credential, down to its path segments; an API URL is only kept out of messages.
        self.redactor = Redactor(list(secrets) + (url_secrets(url) if secret_url else [url]))
        self.would_send = dict(would_send or {}, service=service, action=action)
        self.fields = dict(fields or {})
        self.describe = describe
        self.on_reply = on_reply  # delivery -> fields learnt from the answer (e.g. the new incident's id)


def _result(service, action=None, **extra):
    result = dict(changed=False, delivered=False, attempts=0, status=None, error=None, skipped=False,
                  already_sent=False, service=service, action=action)
    for name in SERVICE_FIELDS.get(service, ()):
        result[name] = None
    result.update(extra)
    return result


def run_notification(module, service, plan):
    """The whole module after argument parsing. `plan(module, ledger)` returns the Message to send, raises
    ArgumentError (the task fails) or NothingToSend (skipped). Delivery failures return failed=false."""
    p = module.params
    try:
        retry = retry_settings(p)
    except ArgumentError as exc:
        module.fail_json(msg=str(exc), **_result(service))
    ledger = CommsLedger(p["ledger"]) if p.get("ledger") else None
    # First without the lock: bad arguments, a key already sent and check mode end here, before any file is made.
    message = _prepare(module, service, plan, ledger)
    if ledger is None:
        _send(module, service, message, ledger, retry)
        return
    try:
        with ledger.locked(time_bound(retry) + 10):
            # Again under the lock: another run may have sent this key (or opened the incident) meanwhile.
            _send(module, service, _prepare(module, service, plan, ledger), ledger, retry)
    except LedgerBusy as exc:
        module.warn(str(exc))
        module.exit_json(**_result(service, message.action, error=str(exc)))
    except OSError as exc:
        module.fail_json(msg=f"cannot write the ledger {p['ledger']}: {exc.strerror or exc}; "
                             "fix the path or its permissions", **_result(service))


def _prepare(module, service, plan, ledger):
    """The Message to send; exits for a key the ledger records as delivered, bad arguments, nothing to send and
    check mode (which sends nothing and writes nothing)."""
    key = module.params.get("key")
    if ledger is not None and key:
        sent = ledger.sent(key)
        if sent is not None:
            # Delivered, by an earlier run: the recipient has it (attempts 0: this run sent nothing).
            module.exit_json(**_result(service, sent.get("action"), delivered=True, skipped=True, already_sent=True,
                                       **{f: sent.get(f) for f in SERVICE_FIELDS.get(service, ())}))
    try:
        message = plan(module, ledger)
    except ArgumentError as exc:
        module.fail_json(msg=str(exc), **_result(service))
    except NothingToSend as exc:
        module.warn(str(exc))
        module.exit_json(**_result(service, skipped=True, error=str(exc)))
    if module.check_mode:
        module.exit_json(**_result(service, message.action, changed=True, would_send=message.would_send,
                                   **message.fields))
    return message


def _send(module, service, message, ledger, retry):
    p = module.params
    delivery = post_json(message.url, message.payload, service, retry, tls=tls_params(p), headers=message.headers,
                         method=message.method, describe=message.describe, redactor=message.redactor)
    fields = dict(message.fields)
    if message.on_reply is not None:
        fields.update(message.on_reply(delivery) or {})
    fields = {k: message.redactor.scrub(v) if isinstance(v, str) else v for k, v in fields.items()}
    if ledger is not None:
        entry = dict(time=utc_now(), key=p.get("key"), service=service, action=message.action,
                     delivered=delivery.delivered, attempts=delivery.attempts, status=delivery.status,
                     error=delivery.error)
        entry.update((name, fields.get(name)) for name in SERVICE_FIELDS.get(service, ()))
        try:
            ledger.append(entry)
        except OSError as exc:
            module.warn(f"{SERVICE_NAMES[service]} was {'' if delivery.delivered else 'not '}delivered but the "
                        f"ledger {ledger.path} could not be written ({exc.strerror or exc}): a rerun may send again")
    if not delivery.delivered:
        module.warn(f"not delivered: {delivery.error}")
    module.exit_json(**_result(service, message.action, changed=delivery.delivered, delivered=delivery.delivered,
                               attempts=delivery.attempts, status=delivery.status, error=delivery.error,
                               elapsed_seconds=round(delivery.elapsed, 3), **fields))
