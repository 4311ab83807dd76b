# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""jeju.ops.k8s_read: the kubernetes.core.k8s lookup for several kinds, asked again while the API has a bad moment."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_read
short_description: List several kinds with the kubernetes.core.k8s lookup, asking again on a passing API fault
description:
  - Lists each kind of O(_terms) in the namespace with the C(kubernetes.core.k8s) lookup (the same client, in the
    controller), and returns them by the term's name.
  - A list the API answers with 429 or 5xx, or does not answer, is asked again, at most O(retries) more times,
    O(delay_seconds) apart; each such attempt is listed in C(retried). A task's own C(until)/C(retries) cannot do
    this for a lookup, which fails while the task's arguments are finalized, before its retry loop.
  - Any other failure (a kind the cluster does not serve, 403, a bad kubeconfig), or the last attempt's, fails the
    task naming the kind.
version_added: 1.2.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.k8s_connection
options:
  _terms:
    description:
      - One mapping of name to what to read. A string is the api_version of the kind the name is (Deployment to
        apps/v1, Pod to v1); a dictionary gives the C(kubernetes.core.k8s) lookup's C(kind) (the name when left
        out), C(api_version) (v1 when left out), C(resource_name), C(label_selector) or C(namespace).
    required: true
  namespace:
    description: The namespace to list in.
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

- name: Read one Service and the ConfigMaps with a label (each name its own read)
  ansible.builtin.set_fact:
    reads: >-
      {{ lookup('jeju.ops.k8s_read', {'service': {'kind': 'Service', 'resource_name': 'reth'},
                                      'freezes': {'kind': 'ConfigMap', 'label_selector': 'jeju.network/freeze'}},
                kubeconfig=jeju_kubeconfig, context=jeju_kube_context, namespace='op-stack') }}
    # reads.objects.service is a list of at most one Service; reads.objects.freezes the ConfigMaps
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
            raise AnsibleError("jeju.ops.k8s_read takes one mapping of name to an api_version or a dictionary of "
                               "kubernetes.core.k8s options, such as {'Pod': 'v1'}")
        reads = {name: _read(name, spec) for name, spec in terms[0].items()}
        connection = {key: self.get_option(key) for key in ("namespace", "kubeconfig", "context")
                      if self.get_option(key) is not None}
        retries, delay = max(0, self.get_option("retries")), max(0.0, float(self.get_option("delay_seconds")))
        k8s = lookup_loader.get("kubernetes.core.k8s", loader=self._loader, templar=self._templar)
        objects, retried = {}, []
        for name, read in reads.items():
            what = _named({**connection, **read})
            for attempt in range(1, retries + 2):
                try:
                    objects[name] = k8s.run([], variables, **{**connection, **read})
                    break
                except Exception as exc:  # kubernetes.core raises the client's own exceptions as they are
                    said = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
                    if attempt > retries or not transient(said):
                        tried = f" (asked again {attempt - 1} times)" if attempt > 1 else ""
                        raise AnsibleError(f"reading {what} from the Kubernetes API failed{tried}: {said}") from exc
                    retried.append({"kind": read["kind"], "attempt": attempt, "error": said})
                    display.vvv(f"jeju.ops.k8s_read: {what}: {said}; asked again in {delay:g} s")
                    time.sleep(delay)
        return [{"objects": objects, "retried": retried}]


def _named(read):
    """The read in words: "Service reth (v1) in op-stack", "ConfigMap labelled a=b (v1)"."""
    what = read["kind"] + (f" {read['resource_name']}" if read.get("resource_name") else "")
    what += f" labelled {read['label_selector']}" if read.get("label_selector") else ""
    what += f" ({read['api_version']})"
    return what + (f" in {read['namespace']}" if read.get("namespace") else "")


READ_KEYS = ("kind", "api_version", "resource_name", "label_selector", "namespace")


def _read(name, spec):
    """The kubernetes.core.k8s lookup's options for one term."""
    if isinstance(spec, str):
        return {"kind": name, "api_version": spec}
    if not isinstance(spec, dict) or set(spec) - set(READ_KEYS):
        raise AnsibleError(f"jeju.ops.k8s_read: {name!r} must be an api_version or a dictionary of "
                           f"{', '.join(READ_KEYS)}; got {spec!r}")
    return {"kind": name, "api_version": "v1", **{key: value for key, value in spec.items() if value is not None}}
