"""Scoring a dataset: train fresh students on it and evaluate them (used by launch.evaluate)."""

from __future__ import annotations

import json
import os

import jax

from hades import bc
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import policy as policy_lib
from hades import rollout
from hades import tasks

# The paper's student (used when a dataset comes without a run config).
PAPER_STUDENT = dict(width=512, depth=2, activation="tanh", kernel_init="orthogonal",
                     learning_rate=5e-3, max_grad_norm=0.5, bc_steps=0)


def load_run_config(dataset_path: str) -> dict:
  """The resolved config.json that launch.distill wrote next to `dataset_path` ({} if none)."""
  path = os.path.join(os.path.dirname(os.path.abspath(dataset_path)), "config.json")
  if not os.path.isfile(path):
    return {}
  with open(path) as f:
    return json.load(f)


def student_settings(task: str, student: dict | None = None) -> dict:
  """PAPER_STUDENT updated with `student`, bc_steps <= 0 replaced by the task's default."""
  settings = dict(PAPER_STUDENT)
  settings.update({k: v for k, v in (student or {}).items() if k in PAPER_STUDENT})
  if settings["bc_steps"] <= 0:
    settings["bc_steps"] = tasks.get_task(task).bc_steps
  return settings


def make_dataset_scorer(task: str, info: dataset_lib.DatasetInfo, student: dict | None = None,
                        num_students: int = 4, num_envs: int = 4, num_steps: int = 1024):
  """Returns score(dataset, seed) -> summary dict, compiled once for all datasets of a shape.

  Trains `num_students` fresh students (settings: PAPER_STUDENT updated with `student`) on the
  dataset and evaluates each on `task` with `info`'s normalisation.
  """
  task = tasks.resolve_task(task)
  settings = student_settings(task, student)
  env = tasks.make_env(task, info.backend)
  obs_size, act_size = int(env.observation_size), int(env.action_size)
  policy = policy_lib.make_policy(act_size, settings["width"], settings["depth"],
                                  settings["activation"], settings["kernel_init"])
  train = bc.make_bc_train(policy, settings["bc_steps"], settings["learning_rate"],
                           settings["max_grad_norm"])
  evaluate = rollout.make_evaluate(env, policy, num_envs, num_steps, info.normalization,
                                   info.obs_mean, info.obs_var)
  eval_fn = jax.jit(fitness_lib.make_dataset_eval(
      policy_lib.make_init_params(policy, obs_size), train, evaluate, num_students))

  def score(dataset: dataset_lib.SyntheticDataset, seed: int = 0) -> dict:
    dataset_lib.check_fits(dataset, obs_size, act_size, f"dataset for {task}")
    results, loss = jax.device_get(eval_fn(dataset, jax.random.key(seed)))
    summary = fitness_lib.summarize(results)
    summary.update(task=task, normalization=info.normalization, backend=info.backend,
                   dataset_size=int(dataset.size), num_students=num_students,
                   num_envs=num_envs, num_steps=num_steps, seed=seed, student=settings,
                   bc_loss=float(loss.mean()))
    return summary

  return score


def evaluate_dataset(dataset: dataset_lib.SyntheticDataset, info: dataset_lib.DatasetInfo,
                     student: dict | None = None, num_students: int = 4, num_envs: int = 4,
                     num_steps: int = 1024, seed: int = 0) -> dict:
  """Trains `num_students` fresh students on `dataset`; returns mean/std return and details.

  Args:
    dataset: states [D, obs], actions [D, act] in the student's (normalised) input space.
    info: task, backend and normalisation the dataset was made with.
    student: overrides of PAPER_STUDENT (width, depth, activation, bc_steps, learning_rate...).
  """
  scorer = make_dataset_scorer(info.task, info, student, num_students, num_envs, num_steps)
  return scorer(dataset, seed)


def evaluate_dataset_file(path: str, task: str | None = None, normalization: str | None = None,
                          student: dict | None = None, backend: str | None = None,
                          **kwargs) -> dict:
  """`evaluate_dataset` on an .npz file (ours or the paper's), with optional overrides."""
  dataset, info = dataset_lib.load(path, normalization=normalization)
  if task is not None:
    info.task = tasks.resolve_task(task)
  if backend is not None:
    info.backend = tasks.check_backend(backend)
  result = evaluate_dataset(dataset, info, student, **kwargs)
  result["dataset"] = path
  return result
