"""A run's workdir: what it writes, and whether what is there belongs to a given config."""

from __future__ import annotations

import json
import os
import shutil

import ml_collections

import checkpoints
from hades import config as config_lib

# What a run writes into its workdir (removed by overwrite=True).
OUTPUTS = ("checkpoints", "config.json", "metrics.jsonl", "dataset.npz", "policy.npz",
           "summary.json", "tensorboard", "wandb_run_id")
# The files that mean a run has results.
RESULTS = ("dataset.npz", "policy.npz", "summary.json")


def remove_outputs(workdir: str) -> None:
  """Deletes what a run wrote into `workdir` (see OUTPUTS)."""
  for name in OUTPUTS:
    path = os.path.join(workdir, name)
    if os.path.isdir(path):
      shutil.rmtree(path)
    elif os.path.exists(path):
      os.remove(path)


def check_outputs_match(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Refuses a workdir whose results (without a checkpoint to compare) come from another config.

  With a checkpoint, the checkpoint's own config check applies (see `_Run.restore`).
  """
  if os.path.isdir(os.path.join(workdir, "checkpoints")) and any(
      n.isdigit() for n in os.listdir(os.path.join(workdir, "checkpoints"))):
    return
  has_results = any(os.path.exists(os.path.join(workdir, n))
                    for n in RESULTS)
  saved = config_lib.read_config_json(workdir)
  if not has_results:
    return
  diff = (["config.json missing"] if saved is None else
          config_lib.config_differences(saved, config.to_dict(),
                                        ignore=config_lib.NON_RESULT_FIELDS))
  if diff:
    raise checkpoints.CheckpointError(
        f"{workdir} holds results of another config ({', '.join(diff[:5])} differ) and no "
        "checkpoint to continue from; use another workdir, or --overwrite to replace them")


def is_finished(workdir: str, config: ml_collections.ConfigDict) -> bool:
  """True when `workdir` holds a completed run of exactly `config` (same results hash)."""
  path = os.path.join(workdir, "summary.json")
  if not os.path.exists(path):
    return False
  try:
    with open(path) as f:
      saved = json.load(f).get("config_hash")
  except (OSError, json.JSONDecodeError):
    return False
  return saved == config_lib.config_hash(config_lib.resolve_config(config))
