"""HaDES fitness: train students on each candidate dataset by BC, return their Brax return.

HaDES-F ('fixed'): one student init, fixed for the whole run.
HaDES-R ('random'): K fresh student inits each generation, so the dataset cannot overfit one
init and transfers to other architectures.
In both, all candidates of a generation share the init and evaluation keys (common random
numbers), so their ranking reflects the datasets, not the noise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from hades import dataset as dataset_lib
from hades import types
from hades.errors import ConfigError

MODES = ("random", "fixed")
# How a candidate's fitness combines its students' returns: their mean (the paper) or the
# worst of them, which ranks a dataset by its least robust student (one that falls).
STUDENT_REDUCTIONS = {"mean": jnp.mean, "min": jnp.min}
_MODE_ALIASES = {"R": "random", "F": "fixed", "r": "random", "f": "fixed"}


def resolve_mode(mode: str) -> str:
  mode = _MODE_ALIASES.get(mode, mode)
  if mode not in MODES:
    raise ConfigError(f"unknown HaDES mode {mode!r}; choose 'R'/'random' or 'F'/'fixed'")
  return mode


def check_student_reduce(name: str) -> str:
  if name not in STUDENT_REDUCTIONS:
    raise ConfigError(f"unknown hades.student_reduce {name!r}; choose one of "
                      f"{', '.join(STUDENT_REDUCTIONS)}")
  return name


FitnessAux = types.FitnessAux


def make_student_eval(bc_train: types.Train, evaluate: types.Evaluate):
  """Returns eval(params [S, ...], dataset, keys [S]) -> (EvalResult [S], bc_loss [S]).

  Trains S students (one per init in `params`) on one dataset and evaluates each with its key.
  """

  def one(params, dataset, key):
    params, loss = bc_train(params, dataset)
    return evaluate(params, key), loss

  return jax.vmap(one, in_axes=(0, None, 0))


def make_population_fitness(init_params: types.InitParams, bc_train: types.Train,
                            evaluate: types.Evaluate, mode: str = "random",
                            num_students: int = 2, student_reduce: str = "mean"
                            ) -> types.PopulationFitness:
  """Returns fitness(datasets, key, fixed_params) -> (fitness [P], FitnessAux).

  Args:
    init_params: keys [S] -> params [S, ...] (`policy.make_init_params`).
    bc_train: (params, dataset) -> (params, loss) (`bc.make_bc_train`).
    evaluate: (params, key) -> EvalResult (`rollout.make_evaluate`).
    mode: 'random' (HaDES-R: fresh inits from `key`) or 'fixed' (HaDES-F: `fixed_params`).
    num_students: students per candidate (S).
    student_reduce: the fitness of a candidate: 'mean' (the paper) or 'min' of its students'
      returns (`STUDENT_REDUCTIONS`).

  The returned function takes datasets with a leading population axis (states [P, D, obs],
  actions [P, D, act]), a generation key, and for 'fixed' the params [S, ...] of the fixed
  students (ignored for 'random').
  """
  mode = resolve_mode(mode)
  if num_students < 1:
    raise ConfigError(f"num_students must be >= 1, got {num_students}")
  reduce = STUDENT_REDUCTIONS[check_student_reduce(student_reduce)]
  student_eval = make_student_eval(bc_train, evaluate)

  def candidate(dataset, params, eval_keys):
    result, loss = student_eval(params, dataset, eval_keys)
    return reduce(result.fitness), FitnessAux(jnp.sum(result.num_episodes), jnp.mean(loss))

  def fitness(datasets: dataset_lib.SyntheticDataset, key: jax.Array, fixed_params=None):
    init_key, eval_key = jax.random.split(key)
    if mode == "fixed":
      params = fixed_params
    else:
      params = init_params(jax.random.split(init_key, num_students))
    eval_keys = jax.random.split(eval_key, num_students)
    # Common random numbers: every candidate gets the same inits and evaluation keys.
    return jax.vmap(candidate, in_axes=(0, None, None))(datasets, params, eval_keys)

  return fitness


def make_dataset_train(init_params: types.InitParams, bc_train: types.Train,
                       num_students: int):
  """Returns train(dataset, key) -> (params [S, ...], bc_loss [S], eval_keys [S]).

  S fresh students, each with its own init from `key`, trained on one dataset; `eval_keys` are
  their evaluation keys, also drawn from `key`. Split from the evaluation so that a scorer
  compiles the rollout once for datasets of every size (`make_dataset_eval` composes them).
  """

  def train(dataset, key):
    init_key, eval_key = jax.random.split(key)
    params = init_params(jax.random.split(init_key, num_students))
    params, loss = jax.vmap(bc_train, in_axes=(0, None))(params, dataset)
    return params, loss, jax.random.split(eval_key, num_students)

  return train


def make_dataset_eval(init_params: types.InitParams, bc_train: types.Train,
                      evaluate: types.Evaluate, num_students: int):
  """Returns eval(dataset, key) -> (EvalResult [S], bc_loss [S]) for S fresh students.

  Used to score a final dataset: each student gets its own init and evaluation key
  (`make_dataset_train`, then `evaluate` per student).
  """
  train = make_dataset_train(init_params, bc_train, num_students)

  def eval_dataset(dataset, key):
    params, loss, eval_keys = train(dataset, key)
    return jax.vmap(evaluate)(params, eval_keys), loss

  return eval_dataset


def summarize(results: types.EvalResult) -> dict:
  """Host-side summary of a batch of EvalResults [S] (one per student).

  return_mean/return_std: mean and std over students of each student's return (its mean
  finished-episode return, the paper's fitness). A student that falls every few steps finishes
  hundreds of episodes, so pooling episodes would let it dominate; the pooled figures are kept
  as episode_return_mean/std.
  """
  per_student = np.asarray(results.fitness, np.float64).reshape(-1)
  n = float(np.sum(results.num_episodes))
  summary = {"return_mean": float(np.mean(per_student)),
             "return_std": float(np.std(per_student)), "episodes": int(n),
             "per_student": [float(x) for x in per_student]}
  if n > 0:
    mean = float(np.sum(results.return_sum)) / n
    summary["episode_return_mean"] = mean
    summary["episode_return_std"] = float(
        np.sqrt(max(float(np.sum(results.return_sq_sum)) / n - mean**2, 0.0)))
  return summary
