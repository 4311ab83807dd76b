# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Attributes of the modules that only read: they behave the same in check mode and have no diff."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
"""
