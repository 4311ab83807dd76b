"""A Kubernetes API double for the lab: real clients (kubernetes Python client, kubernetes.core, kubectl)
talk HTTP to it on loopback; simulators in the same process and asyncio loop drive it through `Cluster`.

Start it::

    cluster = Cluster(ready_delay=0.3)               # nodes lab-node-a/b, namespaces default, kube-system
    server = await start_server(cluster)             # 127.0.0.1, a free port; server.url, server.port
    write_kubeconfig(path, server.url, namespace="op-stack")
    ...
    await server.stop()

or from synchronous code (tests, benchmarks): ``with ThreadedKubeServer(Cluster()) as lab: lab.call(fn, ...)``.

The simulator API (plain methods; call them on the server's loop):

- objects: ``create(obj)``, ``get(kind, name, ns)``, ``find(...)`` (None if absent), ``list(kind, ns,
  label_selector, field_selector)``, ``patch(kind, name, ns, merge_patch)``, ``apply(obj)``,
  ``update_status(kind, name, ns, status_merge)``, ``delete(kind, name, ns)`` (cascades to owned objects),
  ``ensure_namespace(name)``, ``record_event(obj, reason, message, type=...)``. Errors are ``ApiError``
  (a LabError) with ``code`` 404/409/422.
- changes: ``subscribe(fn(event_type, obj)) -> unsubscribe``; event_type is ADDED, MODIFIED or DELETED.
- pods: ``set_pod_health_hook(fn(pod) -> PodHealth | None)`` (ready, phase, waiting_reason such as
  CrashLoopBackOff, last_terminated_reason such as OOMKilled, restart_count); ``refresh()`` re-reads hooks now.
- nodes: ``set_node_ready(name, ready)``: pods there turn Unknown and stay until deleted; new pods only go to
  Ready nodes. ``add_node(name)``.
- logs: ``append_log(ns, pod, line, container=None, previous=False)``; read by ``kubectl logs``/k8s_log.
- exec: ``set_exec_handler(fn(ns, pod, container, argv) -> (exit_code, stdout, stderr))``, may be async.
- metrics: ``set_metrics_hook(fn(pod, container) -> ContainerUsage | None)`` for ``kubectl top``.

See README.md beside this file for what the HTTP side serves.
"""

from jeju_lab.kube_double.access import get_json
from jeju_lab.kube_double.api_errors import AlreadyExists, ApiError, Conflict, Forbidden, Invalid, NotFound
from jeju_lab.kube_double.auth import User
from jeju_lab.kube_double.cluster import Cluster
from jeju_lab.kube_double.hooks import ContainerUsage, PodHealth
from jeju_lab.kube_double.server import LAB_TOKEN, KubeServer, kubeconfig_document, start_server, write_kubeconfig
from jeju_lab.kube_double.threaded import ThreadedKubeServer

__all__ = [
    "LAB_TOKEN",
    "AlreadyExists",
    "ApiError",
    "Cluster",
    "Conflict",
    "ContainerUsage",
    "Forbidden",
    "Invalid",
    "KubeServer",
    "NotFound",
    "PodHealth",
    "ThreadedKubeServer",
    "User",
    "get_json",
    "kubeconfig_document",
    "start_server",
    "write_kubeconfig",
]
