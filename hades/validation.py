"""Validation of the ES mean: which dataset a run hands back.

The ES mean wanders while the population explores (on CPU budgets the population mean can swing
by hundreds of return within a few generations), so a run's last mean depends on where it
happened to stop. Every `every` generations, and at the last one, the generation step trains
fresh students on the current mean and evaluates them with keys reserved for validation (never
used for fitness); the best-validated mean, its return and generation live in the checkpointed
state, so resuming stays exact. The run writes that mean as its dataset.

The validation students and their evaluation keys are the same at every validation (common
random numbers): the validation return is a function of the dataset alone, and the best one is a
well-defined argmax over the run, not a lucky draw.

The selection score is the students' mean return minus `std_penalty` times their standard
deviation: a dataset that trains most students well and lets one fall over is worth less than
one that trains all of them nearly as well (the spread is what fresh students see).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from hades import fitness as fitness_lib
from hades import types
from hades.errors import ConfigError

# fold_in constant that separates the validation stream from the run's fitness stream.
VALIDATION_STREAM = 0x7A11D


@struct.dataclass
class ValidationState:
  """What validation keeps across generations (part of the checkpointed state).

  Attributes:
    key_data: the validation key's raw data (fixed for the run; raw so that checkpoints store
      it as a plain array).
    best_mean: [num_dims] the flat ES mean with the best validation score so far.
    best_score: [] its score, mean - std_penalty * std over students (-inf: none yet).
    best_return: [] its students' mean return (-inf before the first validation).
    best_generation: [] the generation it was reached at (0: none yet).
  """

  key_data: jax.Array
  best_mean: jax.Array
  best_score: jax.Array
  best_return: jax.Array
  best_generation: jax.Array


@dataclasses.dataclass(frozen=True)
class Validation:
  """How a run validates its ES mean.

  Attributes:
    score: (flat mean [num_dims], key) -> [num_students] (or []) returns of fresh students
      trained on it.
    every: validate after every `every` generations (and after the last); 0: never.
    num_generations: the run's last generation (always validated).
    num_students: students per validation.
    std_penalty: the selection score is mean - std_penalty * std of the students' returns.
  """

  score: types.ScoreMean
  every: int
  num_generations: int
  num_students: int
  std_penalty: float = 0.0


def make_validation(init_params: types.InitParams, bc_train: types.Train,
                    evaluate: types.Evaluate, unravel, every: int, num_generations: int,
                    num_students: int, std_penalty: float = 0.0) -> Validation:
  """Validation by `num_students` fresh students, trained with `bc_train` and evaluated with
  `evaluate` (the run's own student and evaluation); `unravel` maps a flat mean to a dataset."""
  if every < 0:
    raise ConfigError(f"validation.every_generations must be >= 0 (0: off), got {every}")
  if every and num_students < 1:
    raise ConfigError(f"validation.num_students must be >= 1, got {num_students}")
  if not std_penalty >= 0:
    raise ConfigError(f"validation.std_penalty must be >= 0, got {std_penalty}")
  dataset_eval = fitness_lib.make_dataset_eval(init_params, bc_train, evaluate,
                                               max(num_students, 1))

  def score(flat_mean: jax.Array, key: jax.Array) -> jax.Array:
    results, _ = dataset_eval(unravel(flat_mean), key)
    return results.fitness

  return Validation(score, every, num_generations, num_students, float(std_penalty))


def init_validation_state(seed: int, flat_mean: jax.Array) -> ValidationState:
  """Nothing validated yet; the key is derived from `seed` apart from the fitness stream."""
  key = jax.random.fold_in(jax.random.key(seed), VALIDATION_STREAM)
  return ValidationState(jax.random.key_data(key), jnp.asarray(flat_mean, jnp.float32),
                         jnp.asarray(-jnp.inf, jnp.float32), jnp.asarray(-jnp.inf, jnp.float32),
                         jnp.asarray(0, jnp.int32))


def make_validation_update(validation: Validation | None):
  """Returns update(vstate, flat_mean [num_dims], generation []) -> (vstate, metrics).

  `generation` is the number of generations done, including the one that produced the mean.
  metrics (each []): validation/return, validation/std and validation/score (NaN when not
  validated this generation); validation/best (the best score so far, never decreasing),
  validation/best_return and validation/best_generation of the mean that reached it. A
  non-finite score never becomes the best.
  """
  nan = jnp.asarray(jnp.nan, jnp.float32)

  def skip(vstate, flat_mean, generation):
    del flat_mean, generation
    return vstate, (nan, nan, nan)

  def run(vstate, flat_mean, generation):
    key = jax.random.wrap_key_data(vstate.key_data)
    returns = jnp.atleast_1d(validation.score(flat_mean, key)).astype(jnp.float32)
    mean, std = jnp.mean(returns), jnp.std(returns)
    score = mean - validation.std_penalty * std
    better = jnp.isfinite(score) & (score > vstate.best_score)
    vstate = ValidationState(
        vstate.key_data, jnp.where(better, flat_mean, vstate.best_mean),
        jnp.where(better, score, vstate.best_score),
        jnp.where(better, mean, vstate.best_return),
        jnp.where(better, generation, vstate.best_generation).astype(jnp.int32))
    return vstate, (mean, std, score)

  def update(vstate: ValidationState, flat_mean: jax.Array, generation: jax.Array):
    if validation is None or validation.every == 0:
      vstate, (mean, std, score) = skip(vstate, flat_mean, generation)
    else:
      due = (generation % validation.every == 0) | (generation == validation.num_generations)
      vstate, (mean, std, score) = jax.lax.cond(due, run, skip, vstate, flat_mean, generation)
    return vstate, {"validation/return": mean, "validation/std": std, "validation/score": score,
                    "validation/best": vstate.best_score,
                    "validation/best_return": vstate.best_return,
                    "validation/best_generation": vstate.best_generation}

  return update
