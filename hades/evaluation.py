"""Scoring a dataset: train fresh students on it and evaluate them.

The one scorer of hades: the distillation's final evaluation, launch.evaluate, the multi-task
transfer report and the studies all call `make_dataset_scorer` (`shared_dataset_scorer`: built
once per process for equal arguments).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from hades import dataset as dataset_lib
from hades import files
from hades import memo
from hades import student as student_lib
from hades import tasks

Scorer = Callable[[dataset_lib.SyntheticDataset, int], dict]


def load_run_config(dataset_path: str) -> dict:
  """The resolved config.json that launch.distill wrote next to `dataset_path` ({} if none)."""
  return files.read_config_json(os.path.dirname(os.path.abspath(dataset_path))) or {}


def student_settings(task: str, student: Mapping[str, Any] | None = None
                     ) -> student_lib.StudentSettings:
  """The paper's student updated with `student`; bc_steps <= 0 becomes the task's default."""
  return student_lib.StudentSettings.for_task(tasks.get_task(task), student)


def make_dataset_scorer(task: str, info: dataset_lib.DatasetInfo,
                        student: Mapping[str, Any] | student_lib.StudentSettings | None = None,
                        num_students: int = 4, num_envs: int = 4,
                        num_steps: int = 1024) -> Scorer:
  """Returns score(dataset, seed) -> summary dict, compiled once for all datasets of a shape.

  Trains `num_students` fresh students (`student`: settings, or overrides of the paper's) on
  the dataset, each with its own init and evaluation key from `seed`, and scores each the
  task family's way (control: a rollout on `task` with `info`'s normalisation, `num_envs` envs
  x `num_steps` steps; supervised: test accuracy, also as test_accuracy_mean / _std). The
  summary has return_mean / return_std over students, per_student, bc_loss and the settings.
  """
  spec, family = tasks.lookup(task)
  if not isinstance(student, student_lib.StudentSettings):
    student = student_lib.StudentSettings.for_task(spec, student)
  return family.make_dataset_scorer(spec, info, student, num_students, num_envs, num_steps)


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
                          family_options: Mapping[str, Any] | None = None,
                          **kwargs) -> dict:
  """`evaluate_dataset` on an .npz file (ours or the paper's), with optional overrides, as the
  task's family scores a file (supervised: test accuracy next to its baselines, with
  `family_options` data_dir, validation_size, full_train_batch, baselines).

  kwargs: num_students, num_envs, num_steps, seed (`evaluate_dataset`).
  """
  dataset, info = dataset_lib.load(path, normalization=normalization)
  # The student a file was made for (the authors' MinAtar student), then the caller's.
  student = {**info.student, **dict(student or {})}
  if task is not None:
    info.task = tasks.resolve_task(task)
  spec, family = tasks.lookup(info.task)
  if backend is not None:
    info.backend = tasks.check_backend(backend, spec.name)
  result = family.evaluate_file(
      spec, dataset, info, student, family_options or {}, evaluate_dataset, **kwargs)
  result["dataset"] = path
  return result


def describe_result(result: dict) -> str:
  """A file's scores (`evaluate_dataset_file`) in a line or a few, the task family's way."""
  return tasks.family_of(result["task"]).describe_result(result)
