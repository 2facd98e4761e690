"""Save and restore a run's state with orbax, keeping the latest K checkpoints plus the best.

A checkpoint holds two items:
  state: a pytree of arrays (no typed PRNG keys: store `jax.random.key_data`),
  meta:  JSON with the schema version, library versions, the resolved config, the shapes of
         every state leaf, and anything else the caller adds (task, backend, ...).
Restoring reads `meta` first and refuses, with a clear message, a checkpoint whose config or
shapes disagree with the requested run. A checkpoint that cannot be read (state, meta or its
metrics) is reported in one line and the previous one is used; the checkpoints after the one
restored are removed, so the resumed run writes them again.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import logging
import os
from collections.abc import Callable

import jax
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as ocp_managers

SCHEMA_VERSION = 1
_log = logging.getLogger(__name__)


class CheckpointError(ValueError):
  """A checkpoint cannot be used for the requested run."""


def versions() -> dict:
  """Versions of the libraries whose behaviour a checkpoint depends on."""
  out = {}
  for dist in ("jax", "jaxlib", "flax", "optax", "evosax", "brax", "orbax-checkpoint"):
    try:
      out[dist] = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
      out[dist] = None
  return out


def tree_shapes(tree) -> dict:
  """{leaf path: [shape..., dtype]} of a pytree of arrays (or ShapeDtypeStructs)."""
  return {jax.tree_util.keystr(path): [list(np.shape(x)), str(np.dtype(x.dtype))]
          for path, x in jax.tree_util.tree_leaves_with_path(tree)}


class WorkdirLock:
  """An exclusive, non-blocking lock on a directory: the file `.hades-lock` in it, flocked.

  The lock is released when the process dies; a clean release also removes the file, so a
  directory the lock was taken on (a multitask workdir) is left as it was. A process that
  opened the file just before its owner removed it holds a lock on a file no longer there:
  it sees that and takes the lock again on the path's current file.
  """

  def __init__(self, directory: str):
    self.path = os.path.join(directory, ".hades-lock")  # A name no user file is likely to have.
    self._file = None

  def __enter__(self):
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    while True:
      self._file = open(self.path, "a+")
      try:
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        self._file.seek(0)
        owner = self._file.read().strip() or "another process"
        self._file.close()
        raise CheckpointError(f"{os.path.dirname(self.path)} is in use by {owner}; wait for "
                              "it to finish or use another workdir") from None
      try:
        current = os.stat(self.path).st_ino
      except FileNotFoundError:
        current = None
      if current == os.fstat(self._file.fileno()).st_ino:
        break
      self._file.close()  # Locked a removed file: its owner released it meanwhile.
    self._file.seek(0)
    self._file.truncate()
    self._file.write(f"pid {os.getpid()}")
    self._file.flush()
    return self

  def __exit__(self, *exc):
    os.unlink(self.path)  # Still holding the lock, so the path is this lock's file.
    fcntl.flock(self._file, fcntl.LOCK_UN)
    self._file.close()


class RunCheckpointer:
  """Checkpoints of one run in `directory`, keeping the latest `keep_latest` and the best
  `keep_best` by `best_metric` (orbax preservation policies); `log` reports checkpoints that
  cannot be read."""

  def __init__(self, directory: str, keep_latest: int = 2, keep_best: int = 1,
               best_metric: str = "fitness/best", log: Callable[[str], None] = _log.warning):
    self.directory = os.path.abspath(directory)
    _drop_unreadable_metrics(self.directory, log)
    policy = ocp_managers.AnyPreservationPolicy([
        ocp_managers.LatestN(n=keep_latest),
        ocp_managers.BestN(get_metric_fn=lambda m: m.get(best_metric, -np.inf), n=keep_best,
                           keep_checkpoints_without_metrics=False),
    ])
    # best_fn makes orbax write each step's metrics (BestN reads them, also after a restart).
    options = ocp.CheckpointManagerOptions(
        preservation_policy=policy, best_fn=lambda m: m.get(best_metric, -np.inf),
        best_mode="max", enable_async_checkpointing=False, cleanup_tmp_directories=True,
        create=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state", "meta"))

  def all_steps(self) -> list[int]:
    self._manager.reload()
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    steps = self.all_steps()
    return steps[-1] if steps else None

  def save(self, step: int, state, meta: dict, metrics: dict | None = None) -> None:
    """Saves `state` (pytree of arrays) and `meta` (JSON-able) as checkpoint `step`, replacing
    a checkpoint of that step left by an earlier attempt (e.g. one that could not be read)."""
    if int(step) in self.all_steps():
      self._manager.delete(int(step))
    meta = dict(meta, schema_version=SCHEMA_VERSION, versions=versions(),
                state_shapes=tree_shapes(state), step=int(step))
    self._manager.save(
        int(step),
        args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                meta=ocp.args.JsonSave(meta)),
        metrics={k: float(v) for k, v in metrics.items()} if metrics else None, force=True)
    self._manager.wait_until_finished()

  def read_meta(self, step: int) -> dict:
    restored = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    return restored["meta"]

  def restore(self, abstract_state, check_meta: Callable[[dict], None] | None = None,
              log: Callable[[str], None] = _log.warning, max_step: int | None = None,
              prune: bool = False):
    """Restores the newest readable checkpoint into the structure of `abstract_state`.

    Args:
      abstract_state: pytree of jax.ShapeDtypeStruct (or arrays) of the requested run.
      check_meta: raises CheckpointError if the checkpoint's meta does not fit the run.
      log: where to report skipped checkpoints (one line each).
      max_step: checkpoints after this step are skipped (e.g. ahead of the run's metrics).
      prune: remove the checkpoints after the one restored (skipped ones: unreadable or past
        max_step), so that the resumed run writes them again (False: another process does).

    Returns:
      (step, state, meta), or None when no checkpoint is usable (the run starts over).

    Raises:
      CheckpointError: the newest readable checkpoint disagrees with the run (config, shapes
        or schema).
    """
    steps = self.all_steps()
    ahead = [s for s in steps if max_step is not None and s > max_step]
    if ahead:
      log(f"checkpoint(s) {ahead} in {self.directory} are ahead of the run's {max_step} "
          "recorded generations; resuming from an earlier one and computing them again")
    wanted = tree_shapes(abstract_state)
    found = None
    for step in reversed([s for s in steps if s not in ahead]):
      try:
        meta = self.read_meta(step)
      except Exception as e:  # noqa: BLE001 - any failure to read means a corrupt checkpoint.
        log(f"checkpoint {step} in {self.directory} is unreadable ({_describe(e)}); trying "
            "the previous one")
        continue
      if meta.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointError(f"checkpoint {step} has schema version "
                              f"{meta.get('schema_version')}, this code reads {SCHEMA_VERSION}")
      if check_meta is not None:
        check_meta(meta)
      if meta.get("state_shapes") != wanted:
        diff = sorted(k for k in set(wanted) | set(meta.get("state_shapes", {}))
                      if wanted.get(k) != meta.get("state_shapes", {}).get(k))
        raise CheckpointError(f"checkpoint {step} in {self.directory} has different array "
                              f"shapes than this run (e.g. {diff[:3]}); refusing to restore")
      try:
        restored = self._manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
      except Exception as e:  # noqa: BLE001
        log(f"checkpoint {step} in {self.directory} is unreadable ({_describe(e)}); trying "
            "the previous one")
        continue
      found = step, restored["state"], meta
      break
    if prune:
      for step in steps:
        if found is None or step > found[0]:
          self._manager.delete(step)
    return found

  def close(self):
    self._manager.close()


def _describe(error: Exception) -> str:
  return f"{type(error).__name__}: {str(error)[:200]}"


def _drop_unreadable_metrics(directory: str, log: Callable[[str], None]) -> None:
  """Removes the metrics file of any checkpoint step whose metrics cannot be parsed (a write
  cut short): orbax would refuse to open the directory. The step itself stays and is restored
  if its state is readable; it no longer counts as a best checkpoint."""
  if not os.path.isdir(directory):
    return
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name, "metrics", "metrics")
    if not (name.isdigit() and os.path.isfile(path)):
      continue
    try:
      with open(path) as f:
        json.load(f)
    except (OSError, ValueError) as e:
      log(f"checkpoint {name} in {directory} has unreadable metrics ({_describe(e)}); "
          "ignoring them")
      os.remove(path)
