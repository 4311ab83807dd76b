# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""jeju.ops.k8s_read: the kubernetes.core.k8s lookup for several kinds, asked again while the API has a bad moment."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_read
short_description: List several kinds with the kubernetes.core.k8s lookup, asking again on a passing API fault
description:
  - Lists each kind of O(_terms) in the namespace with the C(kubernetes.core.k8s) lookup (the same client, in the
    controller), and returns them by kind.
  - A list the API answers with 429 or 5xx, or does not answer, is asked again, at most O(retries) more times,
    O(delay_seconds) apart; each such attempt is listed in C(retried). A task's own C(until)/C(retries) cannot do
    this for a lookup, which fails while the task's arguments are finalized, before its retry loop.
  - Any other failure (a kind the cluster does not serve, 403, a bad kubeconfig), or the last attempt's, fails the
    task naming the kind.
version_added: 1.2.0
author: Jeju operations (@jeju-ops)
options:
  _terms:
    description: One mapping of kind to api_version (Deployment to apps/v1, Pod to v1, and so on).
    required: true
  namespace:
    description: The namespace to list in.
    type: str
  kubeconfig:
    description: The kubeconfig file, as for the kubernetes.core modules.
    type: raw
  context:
    description: The kubeconfig context, as for the kubernetes.core modules.
    type: str
  retries:
    description: Times a list is asked again at most after a passing fault (0 asks once).
    type: int
    default: 5
  delay_seconds:
    description: Seconds between two attempts.
    type: float
    default: 2
"""

EXAMPLES = r"""
- name: Read the Deployments and the pods
  ansible.builtin.set_fact:
    triage_read: >-
      {{ lookup('jeju.ops.k8s_read', {'Deployment': 'apps/v1', 'Pod': 'v1'}, retries=5, delay_seconds=2,
                kubeconfig=jeju_kubeconfig, context=jeju_kube_context, namespace='op-stack') }}
"""

RETURN = r"""
_raw:
  description:
    - One dictionary - C(objects) (kind to the list of its objects) and C(retried) (each attempt that met a passing
      fault - kind, attempt, error).
  type: list
  elements: dict
"""

import time

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.jeju.ops.plugins.module_utils.kube_errors import transient

display = Display()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1 or not isinstance(terms[0], dict) or not terms[0]:
            raise AnsibleError("jeju.ops.k8s_read takes one mapping of kind to api_version, such as "
                               "{'Pod': 'v1'}")
        connection = {key: self.get_option(key) for key in ("namespace", "kubeconfig", "context")
                      if self.get_option(key) is not None}
        retries, delay = max(0, self.get_option("retries")), max(0.0, float(self.get_option("delay_seconds")))
        k8s = lookup_loader.get("kubernetes.core.k8s", loader=self._loader, templar=self._templar)
        objects, retried = {}, []
        for kind, api_version in terms[0].items():
            for attempt in range(1, retries + 2):
                try:
                    objects[kind] = k8s.run([], variables, kind=kind, api_version=api_version, **connection)
                    break
                except Exception as exc:  # kubernetes.core raises the client's own exceptions as they are
                    said = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
                    if attempt > retries or not transient(said):
                        tried = f" (asked again {attempt - 1} times)" if attempt > 1 else ""
                        raise AnsibleError(f"listing {kind} ({api_version}) from the Kubernetes API failed{tried}: "
                                           f"{said}") from exc
                    retried.append({"kind": kind, "attempt": attempt, "error": said})
                    display.vvv(f"jeju.ops.k8s_read: {kind}: {said}; asked again in {delay:g} s")
                    time.sleep(delay)
        return [{"objects": objects, "retried": retried}]
