# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""jeju.ops.k8s_log: kubernetes.core.k8s_log's own code, run in the controller as a lookup."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_log
short_description: The last log lines of a pod, read in the controller with kubernetes.core's k8s_log code
description:
  - Reads a pod's log the way M(kubernetes.core.k8s_log) does (the same client, the same C(execute_module)), but in
    the controller, as the C(kubernetes.core.k8s) lookup reads objects. The module forks a process, unpacks
    AnsiballZ and imports the Kubernetes client before its one request (about 1 s here); the lookup costs the
    request.
  - A pod that cannot show its log (gone, not started, on a lost node) is an answer, not an error - the result
    carries C(msg) saying why. A cluster that cannot be reached, or bad arguments, fail the task.
version_added: 0.9.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.k8s_connection
options:
  _terms:
    description:
      - The pods' names, one answer each, in order (one client for them all). An empty name reads nothing and its
        answer is C(skipped).
    required: true
  namespace:
    description: The pod's namespace.
    type: str
    required: true
  tail_lines:
    description: How many of the last lines to read (kubectl logs --tail). 0 reads nothing and returns C(skipped).
    type: int
    default: 100
  since_seconds:
    description: Only the lines of the last this many seconds (kubectl logs --since); 0 for no limit in time.
    type: int
    default: 0
  container:
    description: The container, for a pod that has more than one.
    type: str
  previous:
    description: The log of the previous (terminated) instance of the container.
    type: bool
    default: false
notes:
  - The other authentication options of the kubernetes.core modules (host, api_key, validate_certs, ...) are
    passed to the same client unchanged.
"""

EXAMPLES = r"""
- name: Read op-node's last 100 log lines
  ansible.builtin.set_fact:
    op_node_log: >-
      {{ lookup('jeju.ops.k8s_log', 'op-node-7d9f-abcde', namespace='jeju', tail_lines=100,
                kubeconfig=jeju_kubeconfig, context=jeju_kube_context) }}

- name: Read the last 200 lines of two pods in one task (query returns the list, one answer per pod)
  ansible.builtin.set_fact:
    logs: >-
      {{ query('jeju.ops.k8s_log', 'op-node-7d9f-abcde', 'reth-5c6b-fghij', namespace='jeju', tail_lines=200,
               kubeconfig=jeju_kubeconfig, context=jeju_kube_context) }}
"""

RETURN = r"""
_raw:
  description:
    - One dictionary per pod - C(log) (the text) and C(log_lines) when the log was read; C(msg) when the pod could
      not show it; C(skipped) when there was nothing to read (no pod, or 0 lines asked for).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
    from ansible_collections.kubernetes.core.plugins.modules.k8s_log import execute_module
except ImportError as exc:  # the lookup fails with the reason, not at import
    K8S_IMPORT_ERROR = exc
else:
    K8S_IMPORT_ERROR = None


def log_params(pod, namespace, tail_lines, since_seconds=0, container=None, previous=False):
    """kubernetes.core.k8s_log's parameters for one pod's last lines."""
    return {"kind": "Pod", "api_version": "v1", "name": pod, "namespace": namespace, "label_selectors": [],
            "container": container, "since_seconds": str(since_seconds) if since_seconds else None,
            "previous": previous, "tail_lines": tail_lines, "all_containers": None}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if K8S_IMPORT_ERROR is not None:
            raise AnsibleError(f"jeju.ops.k8s_log needs kubernetes.core and the kubernetes client: {K8S_IMPORT_ERROR}")
        self.set_options(var_options=variables, direct={k: v for k, v in kwargs.items() if k not in AUTH_ARG_SPEC})
        auth = {k: v for k, v in kwargs.items() if k in AUTH_ARG_SPEC and v is not None}
        service = None
        answers = []
        for term in terms:
            pod = str(term or "")
            if not pod or self.get_option("tail_lines") <= 0:
                answers.append({"skipped": True})
                continue
            service = service or self._service(auth, pod)
            answers.append(self._read(service, pod))
        return answers

    def _service(self, auth, pod):
        try:
            return K8sService(get_api_client(**auth), None)
        except Exception as exc:  # a bad kubeconfig, or an API that does not answer (urllib3 raises its own)
            raise AnsibleError(f"cannot reach the cluster to read the log of pod {self.get_option('namespace')}/"
                               f"{pod}: {exc}; check the inventory's jeju_kube (kubeconfig, context)") from exc

    def _read(self, service, pod):
        namespace = self.get_option("namespace")
        params = log_params(pod, namespace, self.get_option("tail_lines"), self.get_option("since_seconds"),
                            self.get_option("container"), self.get_option("previous"))
        try:
            result = execute_module(service, params)
        except CoreException as exc:  # the pod cannot show its log: a fact for the diagnosis
            return {"msg": str(exc)}
        except Exception as exc:  # the API stopped answering: not a fact about the pod
            raise AnsibleError(f"cannot read the log of pod {namespace}/{pod}: {exc}") from exc
        return {"log": result["log"], "log_lines": result["log_lines"]}
