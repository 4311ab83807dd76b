# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
# The work is done by the action plugin plugins/action/record.py; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: record
short_description: Write files into the run record, from the controller
description:
  - Writes each of O(files) into O(dir), atomically, on the controller (no module process is started).
  - A string is written as it is; any other value as indented JSON.
  - "Writes in check mode too, and reports no change: the record is the run's account of itself."
version_added: 0.2.0
author: Jeju operations (@jeju-ops)
options:
  dir:
    description: The folder (the run record's artifacts); created when missing.
    type: path
    required: true
  files:
    description: File name (a plain name, no folder) to its content.
    type: dict
    required: true
attributes:
  action:
    support: full
    description: Runs on the controller as the action plugin of the same name.
  check_mode:
    support: full
    description: Writes the record in check mode too.
  diff_mode:
    support: none
    description: The record is not the system's state; nothing to diff.
"""

EXAMPLES = r"""
- name: Write the diagnosis into the record
  jeju.ops.record:
    dir: "{{ jeju_run_dir }}/artifacts"
    files:
      diagnosis.json: {cause: l1_rpc_down}
      classification: l1_rpc_down
"""

RETURN = r"""
written:
  description: The files written.
  returned: success
  type: list
  elements: str
dir:
  description: The folder.
  returned: success
  type: str
"""
