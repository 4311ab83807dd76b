# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""jeju.ops.k8s_exec: a read-only command in a pod, run from the controller as kubernetes.core.k8s_exec runs it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: k8s_exec
short_description: Run a read-only command in a pod's container from the controller, as kubernetes.core.k8s_exec does
description:
  - Runs one command in a container the way M(kubernetes.core.k8s_exec) does (the same client, the same exec
    subresource over a websocket, the same C(stdout), C(stderr) and C(rc)), but in the controller, as the
    C(kubernetes.core.k8s) lookup reads objects. The module forks a process, unpacks AnsiballZ, imports the
    whole Kubernetes client through its deprecated C(kubernetes.client.apis) alias (about 2 s here) and polls the
    stream once a second; the lookup costs the command.
  - For reads only (df, du, curl against a health endpoint). A lookup runs in check mode as well, so a command
    that changes anything belongs in M(kubernetes.core.k8s_exec) behind a gate, never here.
  - A pod that cannot run the command (gone, not running, no such container) is an answer, not an error - the
    result carries C(msg) saying why. A cluster that cannot be reached, or bad arguments, fail the task.
version_added: 0.9.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.k8s_connection
options:
  _terms:
    description: The pod's name. An empty name runs nothing and returns C(skipped).
    required: true
  namespace:
    description: The pod's namespace.
    type: str
    required: true
  command:
    description: The command, split as a shell would (shlex), not run through a shell.
    type: str
    required: true
  container:
    description: The container; the pod's first container when not given (as kubernetes.core.k8s_exec).
    type: str
  timeout:
    description: Seconds to wait for the command to finish before giving up with C(msg).
    type: int
    default: 30
notes:
  - The other authentication options of the kubernetes.core modules (host, api_key, validate_certs, ...) are
    passed to the same client unchanged.
"""

EXAMPLES = r"""
- name: Read reth's volumes (df -h)
  ansible.builtin.set_fact:
    reth_df: >-
      {{ lookup('jeju.ops.k8s_exec', 'reth-7d9f-abcde', namespace='jeju', container='reth', command='df -h',
                kubeconfig=jeju_kubeconfig, context=jeju_kube_context) }}
"""

RETURN = r"""
_raw:
  description:
    - One dictionary - C(stdout), C(stderr), C(stdout_lines) and C(rc) (the command's exit code) when the command
      ran; C(msg) when the pod could not run it; C(skipped) when there was no pod to run it in.
  type: list
  elements: dict
"""

import shlex

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import stream
    from urllib3.exceptions import HTTPError
except ImportError as exc:  # the lookup fails with the reason, not at import
    K8S_IMPORT_ERROR = exc
else:
    K8S_IMPORT_ERROR = None


POD_STATUSES = (400, 404, 409)  # no such pod or container, or it is not running


def pod_problem(exc):
    """The reason a pod cannot run a command, from the API's answer; None when the API itself failed.

    kubernetes.stream wraps a refused websocket handshake as ApiException(status=0, reason="Handshake status 404
    Not Found ..."): the pod's answer all the same, unlike a connection that was never made.
    """
    status, reason = getattr(exc, "status", None), str(getattr(exc, "reason", "") or "")
    if status in POD_STATUSES:
        return f"{reason or 'error'} ({status}): {(exc.body or '').strip()[:300]}"
    if status == 0 and any(reason.startswith(f"Handshake status {code}") for code in POD_STATUSES):
        return reason[:300]
    return None


def exit_code(channel_status):
    """The exit code from the exec stream's status channel (kubernetes.core.k8s_exec reads it the same way)."""
    if not channel_status or channel_status.get("status") == "Success":
        return 0
    for cause in (channel_status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message"))
    return 1


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if K8S_IMPORT_ERROR is not None:
            raise AnsibleError(f"jeju.ops.k8s_exec needs kubernetes.core and the kubernetes client: {K8S_IMPORT_ERROR}")
        if len(terms) != 1:
            raise AnsibleError(f"jeju.ops.k8s_exec runs in one pod; got {len(terms)} names")
        self.set_options(var_options=variables, direct={k: v for k, v in kwargs.items() if k not in AUTH_ARG_SPEC})
        pod, namespace = str(terms[0] or ""), self.get_option("namespace")
        if not pod:
            return [{"skipped": True}]
        auth = {k: v for k, v in kwargs.items() if k in AUTH_ARG_SPEC and v is not None}
        try:
            api = CoreV1Api(get_api_client(**auth).client.client)  # K8SClient -> dynamic client -> ApiClient
        except Exception as exc:  # a bad kubeconfig, or an API that does not answer (urllib3 raises its own)
            raise AnsibleError(f"cannot reach the cluster to run a command in pod {namespace}/{pod}: {exc}; "
                               "check the inventory's jeju_kube (kubeconfig, context)") from exc
        return [self._exec(api, pod, namespace)]

    def _exec(self, api, pod, namespace):
        where = f"pod {namespace}/{pod}"
        try:
            container = self.get_option("container") or api.read_namespaced_pod(pod, namespace).spec.containers[0].name
            client = stream(api.connect_get_namespaced_pod_exec, pod, namespace,
                            command=shlex.split(self.get_option("command")), container=container,
                            stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
        except ApiException as exc:
            problem = pod_problem(exc)
            if problem is None:
                raise AnsibleError(f"cannot run a command in {where}: {exc}") from exc
            return {"msg": f"{where} cannot run it: {problem}"}
        except (HTTPError, OSError) as exc:
            raise AnsibleError(f"cannot run a command in {where}: {exc}") from exc
        try:
            client.run_forever(timeout=self.get_option("timeout"))
            if client.is_open():
                return {"msg": f"{where}: the command did not finish within {self.get_option('timeout')} s"}
            stdout, stderr = client.read_stdout() or "", client.read_stderr() or ""
            rc = exit_code(self._status(client))
        finally:
            client.close()
        return {"stdout": stdout, "stderr": stderr, "stdout_lines": stdout.splitlines(), "rc": rc}

    @staticmethod
    def _status(client):
        import yaml  # the status channel is JSON (YAML's subset), read as kubernetes.core.k8s_exec reads it

        return yaml.safe_load(client.read_channel(3) or "{}")
