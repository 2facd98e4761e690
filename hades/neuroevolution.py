"""The neuroevolution baseline: the ES evolves the student's weights directly.

The paper compares HaDES with an ES on the policy's parameters ("neuroevolution"). hades runs
that baseline as HaDES whose "dataset" is the policy itself (`config.method = 'params'`): the
genome is one student's parameter pytree, "training" is the identity, and a candidate's fitness
is `hades.num_students` rollouts (default 1, as in the paper) with the run's evaluation. The ES
starts from a freshly initialised network (drawn from the seed), not from all-zero weights.
Everything else is HaDES's own: the generation step, host loop, checkpoints and exact resume,
sharding, validation of the ES mean (rollouts with held-out keys), metrics and progress.

Outputs: `policy.npz` (the best-validated weights, else the final mean; `load_policy`) instead
of dataset.npz; summary.json scores it with `final_eval.num_students` independent rollouts.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from hades import files
from hades import fitness as fitness_lib
from hades import memo
from hades import rollout
from hades import student as student_lib
from hades import tasks
from hades import types
from hades.errors import InputError

# fold_in constant for the initial weights' key: a stream apart from the run's own splits, so
# adding it changed no existing run's keys.
INIT_STREAM = 0x7061


@dataclasses.dataclass(frozen=True)
class ParamsLayout:
  """What the ES evolves for method 'params': one student's parameters (no student axis).

  Attributes:
    template: the parameter pytree, all zeros (its shapes are the genome's).
  """

  template: Any

  @property
  def size(self) -> int:
    """Number of evolved weights."""
    return count_weights(self.template)

  def to_dataset(self, genome: Any) -> Any:
    """The genome is the policy: nothing to convert."""
    return genome


def count_weights(params: types.Params) -> int:
  """Number of scalars in a parameter pytree."""
  return int(sum(np.prod(np.shape(x)) for x in jax.tree.leaves(params)))


def make_layout(init_params: types.InitParams) -> ParamsLayout:
  """The layout of one student's parameters (`init_params`: keys [S] -> params [S, ...])."""
  shapes = jax.eval_shape(lambda: init_params(jax.random.split(jax.random.key(0), 1)))
  return ParamsLayout(jax.tree.map(lambda s: jnp.zeros(s.shape[1:], s.dtype), shapes))


def identity_train(params: types.Params, genome: types.Params) -> tuple[types.Params, jax.Array]:
  """The `types.Train` of method 'params': the student is the genome (no BC, loss 0)."""
  del params
  return genome, jnp.zeros((), jnp.float32)


def make_init_genome(init_params: types.InitParams):
  """Returns init(seed) -> params (no student axis): the ES's starting weights for a seed."""

  def init(seed: int) -> types.Params:
    key = jax.random.fold_in(jax.random.key(seed), INIT_STREAM)
    return jax.tree.map(lambda x: x[0], init_params(key[None]))

  return init


def make_policy_scorer(task: str, info, settings: student_lib.StudentSettings, head,
                       num_rollouts: int, num_envs: int, num_steps: int, episode_length: int = 0):
  """Returns score(params, seed) -> summary dict: `num_rollouts` independent rollouts of one
  policy (`num_envs` envs x `num_steps` steps each), summarised like a dataset's students
  (return_mean / return_std over rollouts, per_student = per rollout)."""
  env = tasks.make_env(task, info.backend, episode_length)
  built = student_lib.make_student(int(env.observation_size), int(env.action_size), settings,
                                   head)
  evaluate = rollout.make_evaluate(env, built.policy, num_envs, num_steps, info.normalization,
                                   info.obs_mean, info.obs_var, head=head)
  rollouts = jax.jit(jax.vmap(evaluate, in_axes=(None, 0)))

  def score(params: types.Params, seed: int) -> dict:
    keys = jax.random.split(jax.random.key(seed), num_rollouts)
    summary = fitness_lib.summarize(jax.device_get(rollouts(params, keys)))
    summary.update(task=task, normalization=info.normalization, backend=info.backend,
                   num_students=num_rollouts, num_envs=num_envs, num_steps=num_steps, seed=seed,
                   student=settings.to_dict(), num_weights=count_weights(params))
    return summary

  return score


def save_policy(path: str, params: types.Params, **extra: np.ndarray) -> None:
  """Writes a policy's parameters as `params/<module>/<name>` arrays (plus `extra`), atomically."""
  flat = traverse_util.flatten_dict(jax.device_get(params), sep="/")
  arrays = {f"params/{k}": np.asarray(v) for k, v in flat.items()}
  with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
    np.savez(f, **arrays, **extra)


def load_policy(path: str) -> types.Params:
  """The parameter pytree `save_policy` wrote; InputError when unreadable."""
  try:
    with np.load(path, allow_pickle=False) as f:
      flat = {k[len("params/"):]: np.asarray(f[k]) for k in f.files if k.startswith("params/")}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise InputError(f"cannot read policy {path}: {e}") from None
  if not flat:
    raise InputError(f"{path} holds no policy parameters (params/* arrays)")
  return traverse_util.unflatten_dict(flat, sep="/")


# Compiled policy scorers, kept for the next run in this process (a study's seeds).
_SCORERS = memo.Memo(max_entries=8)


def write_results(components, params: types.Params, selection: dict,
                  workdir: str | None, config_hash: str) -> dict:
  """Writes `workdir`/policy.npz (None: another process writes) and returns the summary:
  `params` scored by `components.run.final_students` independent rollouts, next to the
  ES's initial weights (`initial_policy_return`)."""
  if workdir is not None:
    save_policy(os.path.join(workdir, "policy.npz"), params, config_hash=np.array(config_hash),
                **{k: np.asarray(v) for k, v in selection.items()})
  run = components.run
  args = (components.task, components.info, components.student, components.head,
          run.final_students, run.final_envs, run.final_steps, run.episode_length)
  key = ["policy_scorer", args[0], components.info.program_fields(), args[2], repr(args[3]),
         *args[4:]]
  score = _SCORERS.get(key, lambda: make_policy_scorer(*args))
  summary = score(params, run.seed + 1)
  summary.update(selection)
  summary["initial_policy_return"] = score(components.init_genome(run.seed),
                                           run.seed + 1)["return_mean"]
  return summary
