"""Result files: JSON written atomically (a reader sees the old file or the new one, never a
torn one) and a run's config.json read back."""

from __future__ import annotations

import json
import os
import tempfile

from hades.errors import InputError


def write_json(path: str, payload, sort_keys: bool = False) -> None:
  """Writes `payload` as JSON to `path` atomically (a reader sees the old file or the new one)."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(payload, f, indent=2, sort_keys=sort_keys)
      f.flush()
      os.fsync(f.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions.
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def read_config_json(directory: str) -> dict | None:
  """`directory`/config.json (a run's resolved config), or None when there is none.

  Raises InputError when the file exists but cannot be read.
  """
  path = os.path.join(directory, "config.json")
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise InputError(f"cannot read {path}: {e}") from None
