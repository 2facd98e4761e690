"""Scoring a dataset: train fresh students on it and evaluate them.

The one scorer of hades: the distillation's final evaluation, launch.evaluate, the multi-task
transfer report and the studies all call `make_dataset_scorer` (`shared_dataset_scorer`: built
once per process for equal arguments).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from hades import config as config_lib
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import memo
from hades import rollout
from hades import student as student_lib
from hades import supervised
from hades import tasks

Scorer = Callable[[dataset_lib.SyntheticDataset, int], dict]


def load_run_config(dataset_path: str) -> dict:
  """The resolved config.json that launch.distill wrote next to `dataset_path` ({} if none)."""
  return config_lib.read_config_json(os.path.dirname(os.path.abspath(dataset_path))) or {}


def student_settings(task: str, student: Mapping[str, Any] | None = None
                     ) -> student_lib.StudentSettings:
  """The paper's student updated with `student`; bc_steps <= 0 becomes the task's default."""
  return student_lib.StudentSettings.for_task(task, student)


def make_dataset_scorer(task: str, info: dataset_lib.DatasetInfo,
                        student: Mapping[str, Any] | student_lib.StudentSettings | None = None,
                        num_students: int = 4, num_envs: int = 4,
                        num_steps: int = 1024) -> Scorer:
  """Returns score(dataset, seed) -> summary dict, compiled once for all datasets of a shape.

  Trains `num_students` fresh students (`student`: settings, or overrides of the paper's) on
  the dataset, each with its own init and evaluation key from `seed`, and evaluates each on
  `task` with `info`'s normalisation for `num_envs` envs x `num_steps` steps. The summary has
  return_mean / return_std over students, per_student, episodes, bc_loss and the settings.
  Supervised tasks: `supervised.make_dataset_scorer` (test accuracy as return_mean / _std and
  test_accuracy_mean / _std; num_envs and num_steps unused).
  """
  task = tasks.resolve_task(task)
  if tasks.get_task(task).family == "supervised":  # Test accuracy instead of a rollout.
    return supervised.make_dataset_scorer(task, info, student, num_students)
  if not isinstance(student, student_lib.StudentSettings):
    student = student_settings(task, student)
  env = tasks.make_env(task, info.backend)
  obs_size, act_size = int(env.observation_size), int(env.action_size)
  built = student_lib.make_student(obs_size, act_size, student,
                                   tasks.make_head(task, info.labels))
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
    dataset_lib.check_fits(dataset, obs_size, act_size, f"dataset for {task}")
    dataset = dataset_lib.to_host(dataset)
    params, loss, eval_keys = train_fn(dataset, jax.random.key(seed))
    results, loss = jax.device_get((evaluate_fn(params, eval_keys), loss))
    summary = fitness_lib.summarize(results)
    summary.update(task=task, normalization=info.normalization, backend=info.backend,
                   fixed_init=info.fixed_init,
                   dataset_size=int(dataset.size), num_students=num_students,
                   num_envs=num_envs, num_steps=num_steps, seed=seed, student=student.to_dict(),
                   bc_loss=float(loss.mean()))
    return summary

  return score


_SCORERS = memo.Memo(max_entries=24)


def shared_dataset_scorer(task: str, info: dataset_lib.DatasetInfo,
                          student: Mapping[str, Any] | student_lib.StudentSettings | None = None,
                          num_students: int = 4, num_envs: int = 4,
                          num_steps: int = 1024) -> Scorer:
  """`make_dataset_scorer`, kept for the next call with equal arguments in this process (the
  runs of a study, the datasets of a transfer table): one trace and compile instead of one per
  call. `info.source` (free text) is not part of the key."""
  student_key = student.to_dict() if isinstance(student, student_lib.StudentSettings) else (
      dict(student or {}))
  key = ["dataset_scorer", tasks.resolve_task(task), info.program_fields(), student_key,
         num_students, num_envs, num_steps]
  return _SCORERS.get(key, lambda: make_dataset_scorer(task, info, student, num_students,
                                                        num_envs, num_steps))


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


def evaluate_dataset(dataset: dataset_lib.SyntheticDataset, info: dataset_lib.DatasetInfo,
                     student: Mapping[str, Any] | None = None, num_students: int = 4,
                     num_envs: int = 4, num_steps: int = 1024, seed: int = 0) -> dict:
  """Trains `num_students` fresh students on `dataset`; returns mean/std return and details.

  Args:
    dataset: states [D, obs], actions [D, act] in the student's (normalised) input space.
    info: task, backend and normalisation the dataset was made with.
    student: overrides of the paper's student (width, depth, activation, bc_steps, ...).
  """
  scorer = shared_dataset_scorer(info.task, info, student, num_students, num_envs, num_steps)
  return scorer(dataset, seed)


def evaluate_dataset_file(path: str, task: str | None = None, normalization: str | None = None,
                          student: Mapping[str, Any] | None = None, backend: str | None = None,
                          supervised_options: Mapping[str, Any] | None = None,
                          **kwargs) -> dict:
  """`evaluate_dataset` on an .npz file (ours or the paper's), with optional overrides.

  Supervised tasks: `supervised.evaluate_with_baselines` (test accuracy and the baselines)
  with `supervised_options` (data_dir, validation_size, full_train_batch, baselines); the
  num_students and seed of kwargs apply, the env settings do not.
  """
  dataset, info = dataset_lib.load(path, normalization=normalization)
  # The student a file was made for (the authors' MinAtar student), then the caller's.
  student = {**info.student, **dict(student or {})}
  if task is not None:
    info.task = tasks.resolve_task(task)
  if tasks.get_task(info.task).family == "supervised":
    options = dict(supervised_options or {})
    data_dir = options.pop("data_dir", None)
    if data_dir:
      info.data_dir = os.path.abspath(os.path.expanduser(data_dir))
    result = supervised.evaluate_with_baselines(
        dataset, info, student, kwargs.get("num_students") or 8, kwargs.get("seed", 0),
        **options)
    result["dataset"] = path
    return result
  if backend is not None:
    info.backend = tasks.check_backend(backend)
  if kwargs.get("num_envs") is None:  # Its makers' protocol where known (MinAtar: 8), else 4.
    kwargs["num_envs"] = info.eval_envs or 4
  result = evaluate_dataset(dataset, info, student, **kwargs)
  result["dataset"] = path
  return result
