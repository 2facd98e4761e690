"""A run's workdir: what a run writes there, whose it is, and settling it before a run starts.

A workdir belongs to hades once a run has written its `config.json` (the first file a run
writes). hades deletes only what a run of the config in that `config.json` writes (`outputs`),
and only to replace it with a run of another config under `overwrite=True`; everything else in
the directory is left alone, and a directory that holds a run's file names without a run's
`config.json` is refused whatever the flags.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping

import ml_collections

import checkpoints
from hades import config as config_lib
from hades import files
from hades import methods
from hades.errors import InputError

# What a run may write into its workdir (`outputs` says which of these a given config writes).
OUTPUTS = ("checkpoints", "config.json", "metrics.jsonl", "dataset.npz", "policy.npz",
           "summary.json", "tensorboard", "wandb_run_id")
# Keys every run's config.json has: what tells a hades run's config from another tool's.
_RUN_CONFIG_KEYS = ("task", "method", "seed", "es", "student", "eval")


def is_run_config(saved) -> bool:
  """True when `saved` (a parsed config.json) is the resolved config of a hades run."""
  return isinstance(saved, Mapping) and all(k in saved for k in _RUN_CONFIG_KEYS)


def outputs(saved: Mapping) -> tuple[str, ...]:
  """The names a run of the resolved config `saved` (a dict) writes into its workdir."""
  log = saved.get("log", {})
  method = methods.METHODS.get(saved.get("method"), methods.METHODS["dataset"])
  names = ["config.json", "checkpoints", "metrics.jsonl", method.result_file, "summary.json"]
  if log.get("tensorboard", False):
    names.append("tensorboard")
  if log.get("wandb", False):
    names.append("wandb_run_id")
  return tuple(names)


def check_replaceable_json(path: str, keys: tuple[str, ...]) -> None:
  """Refuses (InputError) to let a launcher replace `path` unless it is absent or a JSON
  object with `keys`, i.e. a file hades wrote there before."""
  if not os.path.lexists(path):
    return
  try:
    with open(path) as f:
      saved = json.load(f)
  except (OSError, ValueError):
    saved = None
  if not (isinstance(saved, Mapping) and all(k in saved for k in keys)):
    raise InputError(f"{path} exists and was not written by hades; hades will not replace it: "
                     "use another --workdir")


def _has_checkpoint(workdir: str) -> bool:
  directory = os.path.join(workdir, "checkpoints")
  return os.path.isdir(directory) and any(n.isdigit() for n in os.listdir(directory))


def prepare(workdir: str, config: ml_collections.ConfigDict, resume: str = "auto",
            overwrite: bool = False) -> None:
  """Settles `workdir` for a run of the resolved `config` before anything is written there.

  - Empty of run outputs: writes the run's config.json, which marks the directory as hades's.
  - A run of the same config (resumable changes aside): left as it is, to resume or finish
    (`resume` 'must' needs its checkpoint, 'never' refuses one).
  - A run of another config: refused, or with `overwrite` (and a resume mode that does not
    need it) the files that run wrote are deleted and config.json is replaced.
  - Run file names without a hades config.json (not a hades run's): refused, even with
    `overwrite`.

  Raises CheckpointError for the refusals, before any file is touched.
  """
  present = [n for n in OUTPUTS if os.path.lexists(os.path.join(workdir, n))]
  saved = files.read_config_json(workdir)
  if saved is not None and not is_run_config(saved):
    raise checkpoints.CheckpointError(
        f"{workdir}/config.json was not written by a hades run; hades will not touch it: use "
        "another workdir")
  if saved is None and present:
    raise checkpoints.CheckpointError(
        f"{workdir} holds {', '.join(present)} but no config.json of a hades run, so they are "
        "not a hades run's: hades will not touch them; use another workdir")
  resumable = _has_checkpoint(workdir)
  diff = []
  if saved is not None:
    ignore = config_lib.RESUMABLE_CHANGES if resumable else config_lib.NON_RESULT_FIELDS
    requested = json.loads(json.dumps(config.to_dict()))  # As config.json holds it.
    diff = config_lib.config_differences(saved, requested, ignore=ignore)
  if not diff:
    if resume == "must" and not resumable:
      raise checkpoints.CheckpointError(f"--resume=must but {workdir} has no checkpoint")
    if resume == "never" and resumable:
      raise checkpoints.CheckpointError(
          f"{workdir} already holds a run of this config with a checkpoint; resume it with "
          "--resume=auto or use another workdir (--overwrite replaces only a run of another "
          "config)")
    if saved is None:
      files.write_json(os.path.join(workdir, "config.json"), config.to_dict(), sort_keys=True)
    return
  what = ("a run of another config" + (" and its checkpoint" if resumable else "") +
          f" ({', '.join(diff[:5])} differ)")
  if not overwrite:
    raise checkpoints.CheckpointError(
        f"{workdir} holds {what}; use another workdir, the same config to "
        f"{'resume' if resumable else 'keep'} it, or --overwrite to replace it")
  if resume == "must":
    raise checkpoints.CheckpointError(
        f"--resume=must but {workdir} holds {what}, which replacing it would delete; nothing "
        "was deleted")
  # config.json is replaced last, in one step: until then the directory still says whose run
  # it holds, so an interrupted removal is finished by the next --overwrite.
  _remove(workdir, [n for n in outputs(saved) if n != "config.json"])
  files.write_json(os.path.join(workdir, "config.json"), config.to_dict(), sort_keys=True)


def _remove(workdir: str, names: list[str]) -> None:
  """Deletes the run outputs `names` of `workdir`."""
  for name in names:
    path = os.path.join(workdir, name)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path)
    elif os.path.lexists(path):
      os.remove(path)


def is_finished(workdir: str, config: ml_collections.ConfigDict) -> bool:
  """True when `workdir` holds a completed run of exactly `config` (same results hash)."""
  path = os.path.join(workdir, "summary.json")
  if not os.path.exists(path):
    return False
  try:
    with open(path) as f:
      saved = json.load(f).get("config_hash")
  except (OSError, json.JSONDecodeError, AttributeError):
    return False
  return saved == config_lib.config_hash(config_lib.ensure_resolved(config))
