"""The paper's claims as studies, by name (`STUDIES`): each a grid of runs (`hades.study`), what
is scored after each run, reference series and a plot. `launch.study` runs any of them the same
way; adding one is a class here and one registry line.

  neuroevolution  HaDES vs the ES on the student's weights (`method='params'`), at equal env
                  steps: the params run gets as many generations as spend HaDES's env steps.
  dataset_size    the final return against the dataset size D (with the paper's released
                  sweep files as a reference series when given).
  init_mode       HaDES-R vs HaDES-F datasets, each scored by students of other widths,
                  depths, activations, learning rates and BC step counts (`transfer_students`).
  student_width   neuroevolution's comparison over student widths: a dataset's size does not
                  grow with the student, the weights do (2x64: 5k; 2x512: 270k for hopper).
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import ml_collections

from hades import config as config_lib
from hades import dataset as dataset_lib
from hades import evaluation
from hades import files
from hades import study as study_lib
from hades import study_plots
from hades.errors import ConfigError, InputError

# resolve(config overrides of a grid point) -> that run's resolved config.
Resolve = Callable[[dict], ml_collections.ConfigDict]


class Study(Protocol):
  """One study (see the module docstring).

  Attributes:
    name: the registry key (`launch.study --study`).
    varies: the config fields its grid sets (a command-line value for them is refused).
  """

  name: str
  varies: tuple[str, ...]

  def grid(self, resolve: Resolve, settings) -> Iterator[tuple[str, float, dict]]:
    """Yields (series, x, config overrides) of one task and seed."""

  def after_run(self, run: study_lib.StudyRun, workdir: str, settings, log) -> dict | None:
    """Scores a finished run further (None: nothing to add)."""

  def reference(self, tasks: Sequence[str], num_students: int, options: Mapping[str, Any]
                ) -> dict:
    """{task: reference series} (e.g. the paper's released files), {} without one."""

  def plot(self, task: str, rows: dict, runs: Sequence[study_lib.StudyRun],
           results: Mapping[str, dict], reference: dict | None, path: str) -> None:
    """Writes the study's figure for one task."""


class _NoExtras:
  def after_run(self, run, workdir, settings, log):
    return None

  def reference(self, tasks, num_students, options):
    return {}


def _hades_and_params(resolve: Resolve, params_settings, base: dict
                      ) -> Iterator[tuple[str, dict]]:
  """(method, config overrides) of HaDES and of the ES on the student's weights at `base`
  (more overrides), the latter with the generations that spend HaDES's env steps."""
  hades = resolve({**base, "method": "dataset"})
  yield "HaDES", {**base, "method": "dataset"}
  point = {**dict(config_lib.flatten(params_settings.to_dict())), **base, "method": "params"}
  params = resolve(point)
  total = study_lib.env_steps_per_generation(hades) * hades.es.num_generations
  point["es.num_generations"] = max(1, round(total / study_lib.env_steps_per_generation(params)))
  yield "params", point


class NeuroevolutionStudy(_NoExtras):
  name = "neuroevolution"
  varies = ("method",)

  def grid(self, resolve: Resolve, settings):
    for method, point in _hades_and_params(resolve, settings.params, {}):
      yield method, math.nan, point

  def plot(self, task, rows, runs, results, reference, path):
    curves = {}
    for run in runs:
      if run.task == task and results.get(run.name):
        curves.setdefault(run.series, []).append(results[run.name]["curve"])
    study_plots.plot_curves(task, curves, path)


class DatasetSizeStudy(_NoExtras):
  name = "dataset_size"
  varies = ("dataset.size",)

  def grid(self, resolve: Resolve, settings):
    sizes = list(settings.sizes)
    if not sizes or min(sizes) < 1:
      raise ConfigError(f"dataset_size.sizes must be positive integers, got {sizes}")
    for size in sizes:
      yield f"D{size}", float(size), {"dataset.size": int(size)}

  def reference(self, tasks, num_students, options):
    """The paper's released sweep files in options['paper_dir']
    (brax_sweepD_<task>_D<d>_distill_seed<k>.npz), scored here: {task: {D: mean, s.e., n}}."""
    paper_dir = options.get("paper_dir")
    if not paper_dir:
      return {}
    if not os.path.isdir(paper_dir):
      raise InputError(f"--paper_dir {paper_dir} is not a directory")
    found = {}
    for task in tasks:
      by_size: dict[str, list[float]] = {}
      for path in sorted(glob.glob(os.path.join(paper_dir, f"brax_sweepD_{task}_D*_*.npz"))):
        match = re.search(r"_D(\d+)_distill_seed\d+\.npz$", path)
        if match:
          result = evaluation.evaluate_dataset_file(path, num_students=num_students, seed=0)
          by_size.setdefault(match.group(1), []).append(result["return_mean"])
      if by_size:
        found[task] = {d: dict(zip(("mean", "stderr", "n"), study_lib.mean_and_stderr(v)))
                       for d, v in by_size.items()}
    return found

  def plot(self, task, rows, runs, results, reference, path):
    study_plots.plot_dataset_size(task, rows, reference, path)


class InitModeStudy(_NoExtras):
  name = "init_mode"
  varies = ("hades.mode", "hades.num_students")

  def grid(self, resolve: Resolve, settings):
    for mode in ("random", "fixed"):
      yield f"HaDES-{mode[0].upper()}", math.nan, {"hades.mode": mode, "hades.num_students": 0}

  def after_run(self, run, workdir, settings, log):
    """The run's dataset scored by every transfer student; cached in <run>/transfer.json with
    what it was computed from, recomputed when that changed. Each student's compiled scorer is
    kept for the next runs (`evaluation.shared_dataset_scorer`)."""
    final = run.config.final_eval
    made_by = files.read_json(os.path.join(workdir, "summary.json"))["config_hash"]
    key = {"dataset_config_hash": made_by, "students": settings.students.to_dict(),
           "num_students": settings.num_students, "num_envs": final.num_envs or
           run.config.eval.num_envs, "num_steps": final.num_steps, "seed": run.seed + 1}
    path = os.path.join(workdir, "transfer.json")
    if os.path.exists(path):
      try:
        cached = files.read_json(path)
      except InputError as e:  # A cache: computed again.
        log(f"[{run.name}] {e}; scoring the transfer students again")
        cached = {}
      if json.loads(json.dumps(key)) == cached.get("computed_from"):
        return cached["scores"]
    dataset, info = dataset_lib.load(os.path.join(workdir, "dataset.npz"))
    scores = {}
    for name, change in transfer_students(settings).items():
      student = {**run.config.student.to_dict(), **change}
      scorer = evaluation.shared_dataset_scorer(run.task, info, student, settings.num_students,
                                                key["num_envs"], key["num_steps"])
      scores[name] = scorer(dataset, key["seed"])
      log(f"[{run.name}] student {name}: {scores[name]['return_mean']:.1f} +- "
          f"{scores[name]['return_std']:.1f}")
    files.write_json(path, {"computed_from": key, "scores": scores})
    return scores

  def plot(self, task, rows, runs, results, reference, path):
    study_plots.plot_transfer(task, rows, path)


class StudentWidthStudy(_NoExtras):
  name = "student_width"
  varies = ("method", "student.width", "hades.fitness_width")

  def grid(self, resolve: Resolve, settings):
    widths = list(settings.widths)
    if not widths or min(widths) < 1:
      raise ConfigError(f"student_width.widths must be positive integers, got {widths}")
    for width in widths:
      base = {"student.width": int(width), "hades.fitness_width": 0}
      for method, point in _hades_and_params(resolve, settings.params, base):
        yield f"{method}_w{width}", float(width), point

  def plot(self, task, rows, runs, results, reference, path):
    study_plots.plot_student_width(task, rows, path)


def transfer_students(settings: ml_collections.ConfigDict) -> dict[str, dict]:
  """init_mode's students: {'width=32': {'width': 32}, ...} from settings.students (a field
  and its values each); 'own' (the run's own student) is always scored too."""
  variants = {"own": {}}
  for field, values in settings.students.items():
    for value in values:
      variants[f"{field}={value}"] = {field: value}
  return variants


STUDIES: dict[str, Study] = {study.name: study for study in (
    NeuroevolutionStudy(), DatasetSizeStudy(), InitModeStudy(), StudentWidthStudy())}


def get_study(name: str) -> Study:
  if name not in STUDIES:
    raise ConfigError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
  return STUDIES[name]


def make_runs(name: str, base: ml_collections.ConfigDict, tasks: Sequence[str], num_seeds: int,
              settings: ml_collections.ConfigDict, cli: Mapping[str, Any] | None = None
              ) -> list[study_lib.StudyRun]:
  """`study.make_runs` for the study called `name`."""
  return study_lib.make_runs(get_study(name), base, tasks, num_seeds, settings, cli)
