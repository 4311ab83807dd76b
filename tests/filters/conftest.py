"""The jeju.ops filters are plain Python: importable once the tree is on the path as ansible_collections.jeju.ops."""

from __future__ import annotations

import sys

from jeju_play.paths import collections_dir

COLLECTIONS = str(collections_dir())
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
