"""What the control families (Brax, gymnax, a user's environment) share: a student rolled out
in an environment. `ControlFamily` implements the `base.Family` interface for any env with the
hades interface (un-batched, auto-resetting; see `hades.tasks.make_env`); a control family only
adds how its env is built (`build_env`) and how its frames are drawn (`write_video`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import rollout
from hades import student as student_lib
from hades import types
from hades.errors import ConfigError, InputError
from hades.families import base


@functools.lru_cache(maxsize=None)
def _cached_env(family, spec: base.TaskSpec, backend: str, episode_length: int):
  return family.build_env(spec, backend, episode_length)


class ControlFamily:
  """A family whose tasks are environments (see the module docstring)."""

  name = "control"
  has_env = True
  step_unit = "env-steps"
  options_type = None
  options_section = ""

  def preset_groups(self, spec: base.TaskSpec) -> tuple[str, ...]:
    return (self.name,)

  def build_env(self, spec: base.TaskSpec, backend: str, episode_length: int):
    """The env of `spec` with `episode_length`-step episodes (0: the task's default)."""
    raise NotImplementedError

  def make_env(self, spec: base.TaskSpec, backend: str = "positional", episode_length: int = 0):
    """`build_env`, built once per arguments."""
    return _cached_env(self, spec, backend, episode_length)

  def check_backend(self, backend: str) -> str:
    return backend

  def default_obs_stats(self, spec: base.TaskSpec):
    """(obs_mean, obs_var) for constant normalisation without a stats file (None: needs one)."""
    del spec
    return None

  def load_obs_stats(self, spec: base.TaskSpec, normalization: str, path: str, obs_size: int):
    """(obs_mean [obs], obs_var [obs]) for constant normalisation, else (None, None): from the
    .npz at `path` (obs_mean, obs_var), or the family's packaged statistics without one."""
    if normalization != "constant":
      return None, None
    if not path:
      stats = self.default_obs_stats(spec)
      if stats is not None:
        return stats
      raise ConfigError("constant normalization needs config.dataset.obs_stats: an .npz with "
                        "obs_mean and obs_var (e.g. one of the paper's D4 dataset files)")
    return dataset_lib.read_obs_stats(path, obs_size)

  def make_task_parts(self, spec: base.TaskSpec, settings: base.TaskSettings
                      ) -> types.TaskParts:
    """Env, student and rollout evaluation of a control task."""
    env = self.make_env(spec, settings.backend, settings.episode_length)
    obs_size, act_size = int(env.observation_size), int(env.action_size)
    head = base.make_head(spec, settings.labels)
    student = student_lib.make_student(obs_size, act_size, settings.student, head)
    obs_mean, obs_var = self.load_obs_stats(spec, settings.normalization, settings.obs_stats,
                                            obs_size)
    evaluate = rollout.make_evaluate(env, student.policy, settings.eval_envs,
                                     settings.eval_steps, settings.normalization,
                                     obs_mean, obs_var, head=head)
    info = dataset_lib.DatasetInfo(spec.name, settings.backend, settings.normalization,
                                   obs_mean, obs_var, labels=settings.labels)
    return types.TaskParts(obs_size, act_size, student, evaluate, info,
                           settings.eval_envs * settings.eval_steps)

  def make_dataset_scorer(self, spec: base.TaskSpec, info: dataset_lib.DatasetInfo,
                          student: student_lib.StudentSettings, num_students: int = 4,
                          num_envs: int = 4, num_steps: int = 1024) -> base.Scorer:
    """score(dataset, seed) -> summary: `num_students` fresh students (each its own init and
    evaluation key from `seed`) trained on the dataset and rolled out in `num_envs` envs x
    `num_steps` steps with `info`'s normalisation: return_mean / return_std over students,
    per_student, episodes, bc_loss and the settings."""
    env = self.make_env(spec, info.backend)
    obs_size, act_size = int(env.observation_size), int(env.action_size)
    built = student_lib.make_student(obs_size, act_size, student,
                                     base.make_head(spec, info.labels))
    evaluate = rollout.make_evaluate(env, built.policy, num_envs, num_steps, info.normalization,
                                     info.obs_mean, info.obs_var, head=built.head)
    init_params = built.init_params
    if info.fixed_init >= 0:
      init_params = _authors_fixed_init(built, info.fixed_init, obs_size, act_size)
    # Two programs: BC training (one per dataset size, quick to compile) and the students'
    # rollouts (the expensive compile), which do not depend on the dataset's size.
    train_fn = jax.jit(fitness_lib.make_dataset_train(init_params, built.train, num_students))
    evaluate_fn = jax.jit(jax.vmap(evaluate))

    def score(dataset: dataset_lib.SyntheticDataset, seed: int = 0) -> dict:
      dataset_lib.check_fits(dataset, obs_size, act_size, f"dataset for {spec.name}")
      dataset = dataset_lib.to_host(dataset)
      params, loss, eval_keys = train_fn(dataset, jax.random.key(seed))
      results, loss = jax.device_get((evaluate_fn(params, eval_keys), loss))
      summary = fitness_lib.summarize(results)
      summary.update(task=spec.name, normalization=info.normalization, backend=info.backend,
                     fixed_init=info.fixed_init, dataset_size=int(dataset.size),
                     num_students=num_students, num_envs=num_envs, num_steps=num_steps,
                     seed=seed, student=student.to_dict(), bc_loss=float(loss.mean()))
      return summary

    return score

  def evaluate_file(self, spec: base.TaskSpec, dataset: dataset_lib.SyntheticDataset,
                    info: dataset_lib.DatasetInfo, student: Mapping[str, Any],
                    options: Mapping[str, Any], score_dataset, **kwargs) -> dict:
    """Fresh students on a file's dataset; `kwargs` (num_students, num_envs, num_steps, seed)
    for `score_dataset(dataset, info, student, **kwargs)`. num_envs None: its makers' protocol
    where known (MinAtar files: 8), else 4."""
    del spec, options
    if kwargs.get("num_envs") is None:
      kwargs["num_envs"] = info.eval_envs or 4
    return score_dataset(dataset, info, student, **kwargs)

  def describe_result(self, result: dict) -> str:
    return (f"{result['task']}: {result['return_mean']:.1f} +- {result['return_std']:.1f} (std "
            f"over students) over {result['num_students']} students, {result['episodes']} "
            "episodes")

  def plot_dataset(self, spec: base.TaskSpec, dataset: dataset_lib.SyntheticDataset,
                   info: dataset_lib.DatasetInfo, path: str, start=None) -> None:
    """States and actions as two heat-maps (`plots.plot_dataset`)."""
    from hades import plots

    del start
    plots.plot_dataset(np.asarray(dataset.states), np.asarray(dataset.actions), spec.name, path)

  def check_renderer(self, spec: base.TaskSpec) -> None:
    del spec

  def write_video(self, spec: base.TaskSpec, env, states, output: str, every: int, width: int,
                  height: int, html: bool) -> int:
    raise InputError(f"no drawing for {spec.name}: its family cannot make videos")


def _authors_fixed_init(built: student_lib.Student, key: int, obs_size: int, act_size: int):
  """init_params(keys [S]) -> S copies of the authors' fixed student init (HaDES-F files):
  `AuthorsMinAtarMLP.init(PRNGKey(key))` drawn with the authors' bit stream."""
  from hades import minatar_files

  fixed = minatar_files.init_authors_student(key, obs_size, act_size, built.settings.width)
  ours = jax.eval_shape(built.init_params, jax.random.split(jax.random.key(0), 1))
  if jax.tree.structure(ours) != jax.tree.structure(fixed) or [
      x.shape[1:] for x in jax.tree.leaves(ours)] != [x.shape for x in jax.tree.leaves(fixed)]:
    raise dataset_lib.DatasetFileError(
        "the authors' fixed init needs their student (2 x 512 ReLU, no std parameter); "
        f"this student is {built.settings}")

  def init_params(keys):
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (keys.shape[0],) + x.shape), fixed)

  return init_params
