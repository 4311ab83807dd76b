# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""jeju.ops.http_status: a health endpoint's HTTP status, read in the controller (no module process forked)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: http_status
short_description: Ask an HTTP health endpoint from the controller and return its status code
description:
  - Sends one GET to each URL of O(_terms) with C(ansible.module_utils.urls.open_url) (it honours C(http_proxy),
    C(no_proxy), CA bundles and O(validate_certs), as M(ansible.builtin.uri) does) and returns what came back -
    C(status), C(url) and C(msg) - in the shape of M(ansible.builtin.uri)'s result with C(status_code) accepting
    every answer. An endpoint that does not answer (refused, timed out, bad certificate) is C(status) -1 with
    C(msg) saying why, never an error.
  - For health reads in diagnose phases. A lookup runs in check mode as well; it only reads.
  - M(ansible.builtin.uri) forks a module process for the same GET (0.5-0.6 s here, docs/benchmarks.md).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
options:
  _terms:
    description: The URLs to ask.
    required: true
  timeout:
    description: Seconds to wait for an answer.
    type: float
    default: 5
  validate_certs:
    description: Check the server's TLS certificate.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Ask eigenda-proxy for its health
  ansible.builtin.set_fact:
    eigenda_health: "{{ lookup('jeju.ops.http_status', jeju_eigenda_proxy_url ~ '/health', timeout=5) }}"
    # eigenda_health.status: 200 healthy, 503 unhealthy, -1 did not answer (eigenda_health.msg says why)
"""

RETURN = r"""
_raw:
  description:
    - One dictionary per URL - C(url), C(status) (the HTTP status, -1 when there was no answer) and C(msg).
  type: list
  elements: dict
"""

from urllib.error import HTTPError

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        timeout, validate = float(self.get_option("timeout")), bool(self.get_option("validate_certs"))
        return [status_of(str(url), timeout, validate) for url in terms]


def status_of(url, timeout, validate_certs):
    """{url, status, msg} for one GET: the status of any answer, -1 and the reason when none came."""
    try:
        with open_url(url, method="GET", timeout=timeout, validate_certs=validate_certs) as response:
            return {"url": url, "status": response.status, "msg": f"OK ({response.status})"}
    except HTTPError as answer:  # 4xx and 5xx are answers: a health endpoint says "unhealthy" with 503
        answer.close()
        return {"url": url, "status": answer.code, "msg": f"HTTP Error {answer.code}: {answer.reason}"}
    except Exception as error:  # refused, timed out, TLS: "no answer", with the reason
        return {"url": url, "status": -1, "msg": f"Request failed: {to_text(error)}"}
