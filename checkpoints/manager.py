"""Save and restore a run's state with orbax, keeping the latest K checkpoints plus the best.

A checkpoint holds two items:
  state: a pytree of arrays (no typed PRNG keys: store `jax.random.key_data`),
  meta:  JSON with the schema version, library versions, the resolved config, the shapes of
         every state leaf, and anything else the caller adds (task, backend, ...).
Restoring reads `meta` first and refuses, with a clear message, a checkpoint whose config or
shapes disagree with the requested run; a checkpoint that cannot be read is reported and the
previous one is used.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
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
  """An exclusive, non-blocking lock on a directory (released when the process dies)."""

  def __init__(self, directory: str):
    self.path = os.path.join(directory, ".hades-lock")  # A name no user file is likely to have.
    self._file = None

  def __enter__(self):
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self._file = open(self.path, "a+")
    try:
      fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      self._file.seek(0)
      owner = self._file.read().strip() or "another process"
      self._file.close()
      raise CheckpointError(f"{os.path.dirname(self.path)} is in use by {owner}; wait for it "
                            "to finish or use another workdir") from None
    self._file.seek(0)
    self._file.truncate()
    self._file.write(f"pid {os.getpid()}")
    self._file.flush()
    return self

  def __exit__(self, *exc):
    fcntl.flock(self._file, fcntl.LOCK_UN)
    self._file.close()


class RunCheckpointer:
  """Checkpoints of one run in `directory`, keeping the latest `keep_latest` and the best
  `keep_best` by `best_metric` (orbax preservation policies)."""

  def __init__(self, directory: str, keep_latest: int = 2, keep_best: int = 1,
               best_metric: str = "fitness/best"):
    self.directory = os.path.abspath(directory)
    policy = ocp_managers.AnyPreservationPolicy([
        ocp_managers.LatestN(n=keep_latest),
        ocp_managers.BestN(get_metric_fn=lambda m: m.get(best_metric, -np.inf), n=keep_best,
                           keep_checkpoints_without_metrics=False),
    ])
    options = ocp.CheckpointManagerOptions(
        preservation_policy=policy, enable_async_checkpointing=False,
        cleanup_tmp_directories=True, create=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state", "meta"))

  def all_steps(self) -> list[int]:
    self._manager.reload()
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    steps = self.all_steps()
    return steps[-1] if steps else None

  def save(self, step: int, state, meta: dict, metrics: dict | None = None) -> None:
    """Saves `state` (pytree of arrays) and `meta` (JSON-able) as checkpoint `step`."""
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
              log: Callable[[str], None] = _log.warning):
    """Restores the newest readable checkpoint into the structure of `abstract_state`.

    Args:
      abstract_state: pytree of jax.ShapeDtypeStruct (or arrays) of the requested run.
      check_meta: raises CheckpointError if the checkpoint's meta does not fit the run.
      log: where to report skipped (unreadable) checkpoints.

    Returns:
      (step, state, meta), or None when there is no checkpoint.

    Raises:
      CheckpointError: the newest readable checkpoint disagrees with the run (config or shapes),
        or no checkpoint is readable.
    """
    steps = self.all_steps()
    if not steps:
      return None
    wanted = tree_shapes(abstract_state)
    errors = []
    for step in reversed(steps):
      try:
        meta = self.read_meta(step)
      except Exception as e:  # noqa: BLE001 - any failure to read means a corrupt checkpoint.
        errors.append(f"step {step}: {type(e).__name__}: {str(e)[:200]}")
        log(f"checkpoint {step} in {self.directory} is unreadable ({errors[-1]}); "
            "trying the previous one")
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
        errors.append(f"step {step}: {type(e).__name__}: {str(e)[:200]}")
        log(f"checkpoint {step} in {self.directory} is unreadable ({errors[-1]}); "
            "trying the previous one")
        continue
      return step, restored["state"], meta
    raise CheckpointError(f"no readable checkpoint in {self.directory}: " + "; ".join(errors))

  def close(self):
    self._manager.close()
