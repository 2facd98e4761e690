"""Per-generation metrics: metrics.jsonl always, TensorBoard and Weights & Biases on request.

TensorBoard (tensorboardX) and wandb are imported only when enabled in `config.log`, so neither
is needed otherwise. A resumed run keeps appending to the same jsonl file (cut back to the
checkpoint first, see `truncate_jsonl`) and, for wandb, to the same wandb run (its id is kept in
the workdir).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import checkpoints
from hades import files
from hades.errors import InputError


class MetricsError(InputError):
  """A metrics sink cannot be used (e.g. wandb enabled but not installed)."""


def recorded_generations(path: str) -> int:
  """How many generations `path` records without a gap from generation 1 (0: no file): a
  resumed run starts from a checkpoint no later than this, so no row is ever missing."""
  count = 0
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          row = json.loads(line)
        except json.JSONDecodeError:
          break
        if not isinstance(row, dict) or row.get("generation") != count + 1:
          break
        count += 1
  return count


def wall_time_at(path: str, generation: int) -> float:
  """The wall_time `path` records at `generation` (0.0 when it holds no such row): the time a
  run spent before it was stopped, which its resumed continuation counts on from."""
  if generation > 0 and os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          row = json.loads(line)
        except json.JSONDecodeError:
          break
        if isinstance(row, dict) and row.get("generation") == generation:
          return float(row.get("wall_time", 0.0))
  return 0.0


def truncate_jsonl(path: str, generations: int) -> None:
  """Keeps the rows of generations 1..`generations` of `path` (atomically).

  A half-written last line (a killed run) is dropped. Raises CheckpointError when fewer rows
  than `generations` remain: the metrics would not match the checkpoint.
  """
  rows = []
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        line = line.strip()
        if not line:
          continue
        try:
          row = json.loads(line)
        except json.JSONDecodeError:
          break
        if row.get("generation", 0) <= generations:
          rows.append(line)
  files.write_text(path, "".join(r + "\n" for r in rows))
  if len(rows) != generations:
    raise checkpoints.CheckpointError(
        f"{path} has {len(rows)} rows for the {generations} checkpointed generations")


class MetricsLog:
  """Writes metric rows ({'generation': g, name: value, ...}) to every enabled sink.

  Args:
    workdir: the task's directory (metrics.jsonl, tensorboard/, wandb_run_id).
    task: prefixes the TensorBoard / wandb names ('hopper/fitness/mean').
    log_config: `config.log` (tensorboard, wandb, wandb_project, wandb_entity).
    run_config: the resolved config, recorded by wandb.
    resumed_at: generations already in metrics.jsonl (0: a fresh run, the file is replaced).
  """

  def __init__(self, workdir: str, task: str, log_config, run_config: dict,
               resumed_at: int = 0):
    self.task = task
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tensorboard = None
    self._wandb = None
    # Optional sinks first: a missing package fails before metrics.jsonl is touched.
    if log_config.get("wandb", False):
      self._wandb = _start_wandb(workdir, task, log_config, run_config)
    if log_config.get("tensorboard", False):
      from tensorboardX import SummaryWriter  # Optional dependency.

      self._tensorboard = SummaryWriter(os.path.join(workdir, "tensorboard"))
    if resumed_at:
      truncate_jsonl(self.path, resumed_at)
    elif os.path.exists(self.path):
      os.remove(self.path)  # A run killed before its first checkpoint starts over.
    self._file = open(self.path, "a")

  def write(self, rows: Iterable[dict]) -> None:
    rows = list(rows)
    for row in rows:
      self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    for row in rows:
      step = row["generation"]
      scalars = {f"{self.task}/{k}": v for k, v in row.items() if k != "generation"}
      if self._tensorboard is not None:
        for name, value in scalars.items():
          self._tensorboard.add_scalar(name, value, step)
      if self._wandb is not None:
        self._wandb.log(scalars, step=step)

  def log_summary(self, summary: dict) -> None:
    """Final numbers (fresh-student return etc.) into the wandb run summary."""
    if self._wandb is not None:
      self._wandb.summary.update({f"{self.task}/final/{k}": v for k, v in summary.items()
                                  if isinstance(v, (int, float))})

  def close(self) -> None:
    self._file.close()
    if self._tensorboard is not None:
      self._tensorboard.close()
    if self._wandb is not None:
      self._wandb.finish()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
    return False


def _start_wandb(workdir: str, task: str, log_config, run_config: dict):
  try:
    import wandb  # Optional dependency, imported only when enabled.
  except ImportError as e:
    raise MetricsError("config.log.wandb=True needs the wandb package: "
                       "pip install -e '.[wandb]'") from e
  id_path = os.path.join(workdir, "wandb_run_id")
  run_id = None
  if os.path.exists(id_path):
    with open(id_path) as f:
      run_id = f.read().strip() or None
  run = wandb.init(project=log_config.get("wandb_project", "hades"),
                   entity=log_config.get("wandb_entity", "") or None,
                   name=f"{task}-{os.path.basename(os.path.dirname(os.path.abspath(workdir)))}",
                   config=run_config, id=run_id, resume="allow", dir=workdir)
  if run_id is None:
    files.write_text(id_path, run.id)
  return run
