"""Compiled functions shared by the runs of one process.

A study runs a grid of distillations in one process; runs that differ only in their seed (or
datasets scored by the same students) need the same jitted programs. Building them anew would
trace and compile them again (tens of seconds for a Brax task, even with the persistent
compilation cache, which skips XLA's compile but not the tracing), so the factories' results
are kept here under a key that names everything they were built from.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Memo:
  """A small least-recently-used map from a key (any JSON-able value) to a built object.

  Entries hold compiled executables, so the map is bounded; an evicted entry is rebuilt (and
  retraced) when asked for again.
  """

  def __init__(self, max_entries: int):
    self.max_entries = max_entries
    self._entries: collections.OrderedDict[str, Any] = collections.OrderedDict()

  def get(self, key: Any, build: Callable[[], T]) -> T:
    """The object kept under `key`, built with `build()` on the first request."""
    text = key_text(key)
    if text in self._entries:
      self._entries.move_to_end(text)
      return self._entries[text]
    value = build()
    self._entries[text] = value
    while len(self._entries) > self.max_entries:
      self._entries.popitem(last=False)
    return value

  def __len__(self) -> int:
    return len(self._entries)

  def clear(self) -> None:
    self._entries.clear()


def key_text(key: Any) -> str:
  """A canonical text for `key`: sorted dict keys; arrays, tuples and the rest as JSON or str."""

  def default(x):
    if hasattr(x, "tolist"):
      return x.tolist()
    if hasattr(x, "to_dict"):
      return x.to_dict()
    return str(x)

  return json.dumps(key, sort_keys=True, default=default)
