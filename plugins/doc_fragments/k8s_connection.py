# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""The cluster connection options of the lookups that run kubernetes.core's code in the controller (k8s_read,
k8s_log, k8s_exec): the same kubeconfig and context the kubernetes.core modules take."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description: The kubeconfig file, as for the kubernetes.core modules.
    type: raw
  context:
    description: The kubeconfig context, as for the kubernetes.core modules.
    type: str
"""
