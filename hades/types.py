"""The functions and results passed between hades modules (cf. brax/training/types.py).

Shapes: S students, P candidates, D data points, B parallel envs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

Params = Any  # A flax parameter pytree.
PRNGKey = jax.Array


class Policy(Protocol):
  """A student network: apply(params, obs [..., obs]) -> (mean [..., act], log_std [act])."""

  def apply(self, params: Params, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    ...


class InitParams(Protocol):
  """keys [S] -> params with a leading [S] student axis."""

  def __call__(self, keys: PRNGKey) -> Params:
    ...


class Loss(Protocol):
  """loss(params, data) -> [] scalar training loss of one student on one dataset."""

  def __call__(self, params: Params, data: Any) -> jax.Array:
    ...


class Train(Protocol):
  """train(params, data) -> (trained params, final loss []) for one student."""

  def __call__(self, params: Params, data: Any) -> tuple[Params, jax.Array]:
    ...


@struct.dataclass
class EvalResult:
  """Outcome of one evaluation (N envs x T steps).

  Attributes:
    return_sum: [] sum of the returns of the episodes that finished within T steps.
    return_sq_sum: [] sum of their squares (for the std over episodes).
    num_episodes: [] how many episodes finished.
    partial_return: [] mean over envs of the return accumulated by each env's last, unfinished
      episode.
  """

  return_sum: jax.Array
  return_sq_sum: jax.Array
  num_episodes: jax.Array
  partial_return: jax.Array

  @property
  def fitness(self) -> jax.Array:
    """Mean return of finished episodes (the paper's fitness); when no episode finished, the
    mean partial return, so fitness is always defined. Both agree once T >= episode length."""
    finished = self.return_sum / jnp.maximum(self.num_episodes, 1)
    return jnp.where(self.num_episodes > 0, finished, self.partial_return)


class Evaluate(Protocol):
  """evaluate(params, key) -> EvalResult of one student (a rollout)."""

  def __call__(self, params: Params, key: PRNGKey) -> EvalResult:
    ...


@struct.dataclass
class FitnessAux:
  """Per-candidate diagnostics: episodes [P] (finished, summed over students), bc_loss [P]."""

  episodes: jax.Array
  bc_loss: jax.Array


class PopulationFitness(Protocol):
  """fitness(datasets [P, ...], key, fixed_params [S, ...]) -> (fitness [P], FitnessAux [P])."""

  def __call__(self, datasets: Any, key: PRNGKey,
               fixed_params: Params | None = None) -> tuple[jax.Array, FitnessAux]:
    ...


class ScoreMean(Protocol):
  """score(flat ES mean [num_dims], key) -> [num_students] returns of fresh students trained
  on it (or [] when the score is one number)."""

  def __call__(self, flat_mean: jax.Array, key: PRNGKey) -> jax.Array:
    ...


@dataclasses.dataclass(frozen=True)
class TaskParts:
  """What a task family supplies to `distill.build`: everything else is family-blind.

  Attributes:
    obs_size: the student's input size (control: observations; supervised: pixels).
    act_size: its output size (continuous actions, discrete actions or classes).
    student: a `student.Student` (network, init, BC loop, head).
    evaluate: (params, key) -> EvalResult of one trained student (control: a rollout;
      supervised: accuracy or minus cross-entropy on held-out real images).
    info: a `dataset.DatasetInfo` for the files the run writes.
    eval_steps: work units (env steps / scored examples) one evaluation costs, for steps/s.
    base: a `dataset.SyntheticDataset` the evolved genome is an offset from (its shape the
      layout's template; supervised: class means), None: the genome is the dataset (zeros,
      the paper's control init).
    coarse_states: (n, decode) when the ES evolves n numbers per state and decode maps them
      [..., n] -> [..., obs_size] (supervised `data.genome_upsample`: coarse offset images,
      upsampled); None: every state number is evolved.
  """

  obs_size: int
  act_size: int
  student: Any
  evaluate: Evaluate
  info: Any
  eval_steps: int
  base: Any = None
  coarse_states: Any = None
