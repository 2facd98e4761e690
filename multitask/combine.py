"""Combine per-task datasets of different sizes into one padded, task-labelled training set.

Tasks of any family mix: a continuous task's points carry actions (Gaussian NLL), a discrete
task's carry target action probabilities (cross-entropy), flagged per point.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hades import dataset as dataset_lib
from hades import policy as policy_lib
from hades import tasks
from hades.errors import InputError


@dataclasses.dataclass(frozen=True)
class TaskSlot:
  """Where one task sits in the combined set.

  Attributes:
    name: task name; index: its task id; obs_size/act_size: its real sizes (discrete: number
    of actions); info: how its dataset was distilled (normalisation, backend, obs stats,
    labels); discrete: whether its actions are discrete (categorical head).
  """

  name: str
  index: int
  obs_size: int
  act_size: int
  size: int
  info: dataset_lib.DatasetInfo
  discrete: bool = False

  @property
  def head(self) -> policy_lib.Head:
    """The head the generalist acts with on this task."""
    return tasks.make_head(self.info.task, self.info.labels)


@struct.dataclass
class MultiTaskData:
  """The union of T task datasets, N = sum of their sizes.

  Attributes:
    states: [N, max_obs] each task's (normalised) states, zero-padded.
    task_ids: [N] int32 task index of each point.
    actions: [N, max_act] continuous actions, or target action probabilities of discrete
      tasks, zero-padded.
    action_mask: [N, max_act] 1 for a task's real action dimensions, 0 for padding.
    weights: [N] loss weight of each point; every task sums to 1/T whatever its size.
    discrete: [N] 1.0 for points of discrete-action tasks (cross-entropy), 0.0 otherwise.
  """

  states: jax.Array
  task_ids: jax.Array
  actions: jax.Array
  action_mask: jax.Array
  weights: jax.Array
  discrete: jax.Array


def pad_to(x: np.ndarray, width: int) -> np.ndarray:
  """Zero-pads (or crops) the last axis of x to `width`."""
  x = np.asarray(x)
  if x.shape[-1] >= width:
    return x[..., :width]
  pad = [(0, 0)] * (x.ndim - 1) + [(0, width - x.shape[-1])]
  return np.pad(x, pad)


def combine(datasets: dict[str, tuple[dataset_lib.SyntheticDataset, dataset_lib.DatasetInfo]]
            ) -> tuple[MultiTaskData, list[TaskSlot]]:
  """Concatenates task datasets (in the dict's order, which fixes the task ids).

  Each task keeps the normalisation it was distilled with (recorded in its slot's `info`): its
  states are already in that task's normalised space and are only padded here.
  """
  if not datasets:
    raise InputError("no datasets to combine")
  slots = []
  for i, (name, (data, info)) in enumerate(datasets.items()):
    slots.append(TaskSlot(name, i, int(data.states.shape[-1]), int(data.actions.shape[-1]),
                          int(data.size), info, tasks.get_task(info.task).discrete))
  max_obs = max(s.obs_size for s in slots)
  max_act = max(s.act_size for s in slots)
  parts = {k: [] for k in ("states", "task_ids", "actions", "action_mask", "weights",
                           "discrete")}
  for slot, (data, _) in zip(slots, datasets.values()):
    parts["states"].append(pad_to(data.states, max_obs))
    labels = data.actions
    if slot.discrete:  # Fixed one-hots stay; learned logits become their softmax.
      labels = slot.head.target(jnp.asarray(labels))
    parts["actions"].append(pad_to(labels, max_act))
    mask = np.zeros((slot.size, max_act), np.float32)
    mask[:, :slot.act_size] = 1.0
    parts["action_mask"].append(mask)
    parts["task_ids"].append(np.full((slot.size,), slot.index, np.int32))
    parts["weights"].append(np.full((slot.size,), 1.0 / (len(slots) * slot.size), np.float32))
    parts["discrete"].append(np.full((slot.size,), float(slot.discrete), np.float32))
  data = MultiTaskData(**{k: jnp.asarray(np.concatenate(v)) for k, v in parts.items()})
  return data, slots


def transplant(data: dataset_lib.SyntheticDataset, obs_size: int, act_size: int
               ) -> dataset_lib.SyntheticDataset:
  """A dataset padded/cropped to another task's sizes (for the cross-task matrix)."""
  return dataset_lib.SyntheticDataset(jnp.asarray(pad_to(data.states, obs_size), jnp.float32),
                                      jnp.asarray(pad_to(data.actions, act_size), jnp.float32))
