"""Result files, written atomically and read with a clean error.

Every result hades writes (JSON, .npz, figures, GIFs, text) goes through `atomic_path`: the
content is written to a temporary file beside the target, synced to disk and moved over the
target in one step, so a reader (or a run killed mid-write) sees the old file or the new one,
never a torn one. Readers (`read_json`, `read_config_json`) refuse an unreadable file with an
InputError that names it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator

from hades.errors import InputError


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path` (same extension) to write to; on success the file
  is synced and moved onto `path`, on an exception it is removed and `path` is untouched."""
  directory = os.path.dirname(os.path.abspath(path))
  base = os.path.basename(path)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.",
                             suffix=".tmp" + os.path.splitext(base)[1])
  os.close(fd)
  try:
    yield tmp
    fd = os.open(tmp, os.O_RDONLY)
    try:
      os.fsync(fd)
    finally:
      os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions.
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def write_text(path: str, text: str) -> None:
  """Writes `text` to `path` atomically."""
  with atomic_path(path) as tmp, open(tmp, "w") as f:
    f.write(text)


def write_json(path: str, payload, sort_keys: bool = False) -> None:
  """Writes `payload` as JSON to `path` atomically (a reader sees the old file or the new one)."""
  write_text(path, json.dumps(payload, indent=2, sort_keys=sort_keys))


def read_json(path: str):
  """The JSON in `path`; InputError naming the file when it cannot be read or parsed (e.g. cut
  short by a disk that filled up)."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise InputError(f"cannot read {path}: {e}") from None


def read_jsonl(path: str) -> list[dict]:
  """The rows of a JSON-lines file (metrics.jsonl). A torn last line (a run killed while
  appending) is left out; any other unreadable line is an InputError naming the file."""
  try:
    with open(path) as f:
      lines = [line for line in f if line.strip()]
  except (OSError, UnicodeDecodeError) as e:
    raise InputError(f"cannot read {path}: {e}") from None
  rows = []
  for number, line in enumerate(lines, 1):
    try:
      row = json.loads(line)
    except json.JSONDecodeError as e:
      if number == len(lines) and not line.endswith("\n"):
        break
      raise InputError(f"cannot read {path}: line {number}: {e}") from None
    if not isinstance(row, dict):
      raise InputError(f"cannot read {path}: line {number} is not a JSON object")
    rows.append(row)
  return rows


def read_config_json(directory: str) -> dict | None:
  """`directory`/config.json (a run's resolved config), or None when there is none.

  Raises InputError when the file exists but cannot be read.
  """
  path = os.path.join(directory, "config.json")
  if not os.path.exists(path):
    return None
  return read_json(path)
