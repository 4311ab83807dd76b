# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.record: write files into the run record from the controller.

No module process is forked (a copy or template task costs 0.4-0.8 s here; this costs milliseconds). Each file is
written atomically (a temporary file, then a rename), also in check mode: the record is the run's account of
itself, not the system's state.
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible.plugins.action import ActionBase

_MODES = {"write", "append"}


def _text(value):
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n"
    return json.dumps(value, indent=2, sort_keys=False, default=str) + "\n"


def _write(path, text):
    folder = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".record-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dir", "files"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        folder = self._task.args.get("dir")
        files = self._task.args.get("files") or {}
        if not folder:
            return dict(result, failed=True, msg="jeju.ops.record needs dir: the record's artifacts folder.")
        if not isinstance(files, dict):
            return dict(result, failed=True, msg="jeju.ops.record files must map a file name to its content.")
        bad = [name for name in files if not name or "/" in name or name.startswith(".")]
        if bad:
            return dict(result, failed=True, msg=f"jeju.ops.record: file names must be plain names, not {bad}.")
        try:
            os.makedirs(folder, mode=0o750, exist_ok=True)
            for name, content in files.items():
                _write(os.path.join(folder, name), _text(content))
        except OSError as exc:
            return dict(result, failed=True, msg=f"jeju.ops.record could not write into {folder}: {exc}")
        return dict(result, changed=False, written=sorted(files), dir=folder)
