"""What the ES evolves: the methods, one interface, by name (`METHODS`, `config.method`).

  dataset  HaDES: the genome is a synthetic dataset; each candidate's fitness is how well
           fresh students BC-trained on it do. Writes dataset.npz.
  params   the neuroevolution baseline: the genome is the student's weights themselves (no BC),
           started from a fresh network init. Writes policy.npz (`hades.neuroevolution`).

The runner, config and workdir ask the method object (its genome layout, starting point, the
students a genome yields, what a run writes and says) and never compare its name.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Protocol

import jax
import numpy as np

from hades import dataset as dataset_lib
from hades import evaluation
from hades import neuroevolution
from hades import progress as progress_lib
from hades import types
from hades.errors import ConfigError

if TYPE_CHECKING:
  from hades.families.base import TaskSettings


@dataclasses.dataclass(frozen=True)
class Genome:
  """How a method's genome becomes students (`Method.make_genome`).

  Attributes:
    layout: what the ES evolves (its `template` pytree) and `to_dataset(genome)`, what the
      students are trained on.
    train: (params, dataset) -> (params, loss): the students' training on a candidate.
    init_genome: seed -> the ES's starting genome (None: the layout's all-zero template).
  """

  layout: Any
  train: types.Train
  init_genome: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunFacts:
  """What a method needs to describe a run and score its result (built from the config by
  `distill.build`, kept in `Components.run`).

  Attributes:
    seed: the run's seed (the result is scored with seed + 1).
    num_generations: the run's length (recorded with the result).
    mode, num_students: HaDES-F/-R ('fixed' | 'random') and students (rollouts) per candidate.
    fitness_width: the ES's students' width when narrower than the dataset's (0: the same).
    final_students, final_envs, final_steps: how the result is scored (`config.final_eval`;
      final_envs already resolved from `config.eval` when 0).
    episode_length: the env's time limit (0: the task's own).
  """

  seed: int = 0
  num_generations: int = 0
  mode: str = "random"
  num_students: int = 1
  fitness_width: int = 0
  final_students: int = 8
  final_envs: int = 4
  final_steps: int = 1024
  episode_length: int = 0


@dataclasses.dataclass(frozen=True)
class Outcome:
  """A finished run's genomes, as the students see them (`layout.to_dataset`).

  Attributes:
    final: the final ES mean; validated: the best-validated mean (None: validation off);
    best: the best candidate evaluated; start: the ES's starting point;
    selection: how the result was chosen (`selected`, validation_* fields).
  """

  final: Any
  validated: Any
  best: Any
  start: Any
  selection: dict

  @property
  def result(self) -> Any:
    """What the run writes: the best-validated mean, else the final one."""
    return self.final if self.validated is None else self.validated


class Method(Protocol):
  """One thing to evolve (see the module docstring).

  Attributes:
    name: the registry key (`config.method`).
    result_file: the file its runs write into their workdir.
    trains_students: whether candidates are BC-trained students (the speed bench's bound).
    allows_fitness_width: whether the ES may score candidates with narrower students.
  """

  name: str
  result_file: str
  trains_students: bool
  allows_fitness_width: bool

  def default_num_students(self, mode: str) -> int:
    """Students (or rollouts) per candidate when `hades.num_students` is 0."""

  def make_genome(self, settings: TaskSettings, parts: types.TaskParts) -> Genome:
    """The genome's layout, training and start for a task's parts."""

  def describe(self, components) -> str:
    """What a run evolves, for its first log line."""

  def write_results(self, components, outcome: Outcome, workdir: str | None,
                    config_hash: str) -> dict:
    """Writes the result file into `workdir` (None: another process writes) and returns the
    summary of the result's scores."""

  def summary_line(self, summary: dict) -> str:
    """The run's last log line, after 'done in ...: '."""


def _actions(components, labels: str = "") -> str:
  if components.head.discrete:
    return f"{components.act_size} actions" + (f", {labels} labels" if labels else "")
  return f"act {components.act_size}"


def _fmt(x: float) -> str:
  return progress_lib.format_score(x, 1)


class DatasetMethod:
  """HaDES: evolve a synthetic dataset."""

  name = "dataset"
  result_file = "dataset.npz"
  trains_students = True
  allows_fitness_width = True

  def default_num_students(self, mode: str) -> int:
    return 1 if mode == "fixed" else 2  # HaDES-F: its one fixed init; HaDES-R: the paper's 2.

  def make_genome(self, settings: TaskSettings, parts: types.TaskParts) -> Genome:
    layout = dataset_lib.make_layout(settings.dataset_size, parts.obs_size, parts.act_size,
                                     settings.labels, parts.student.head.discrete,
                                     parts.base, parts.coarse_states)
    return Genome(layout, parts.student.train)

  def describe(self, components) -> str:
    run = components.run
    actions = _actions(components, components.layout.labels)
    text = (f"distilling D={components.layout.template.size} (obs {components.obs_size}, "
            f"{actions}), HaDES-{run.mode[0].upper()} x{run.num_students} students")
    if run.fitness_width:
      text += f" of width {run.fitness_width} (dataset's: {components.student.width})"
    return text

  def write_results(self, components, outcome: Outcome, workdir: str | None,
                    config_hash: str) -> dict:
    """dataset.npz and its scores (fresh students on it).

    dataset.npz's states/actions are the result (`Outcome.result`); the final mean
    (final_states/final_actions), the best candidate ever evaluated (best_states/best_actions)
    and the ES's starting dataset (start_states/start_actions, e.g. class means) ride along.
    The summary scores both means and the start.
    """
    dataset, run = outcome.result, components.run
    if workdir is not None:
      dataset_lib.save(os.path.join(workdir, self.result_file), dataset,
                       dataclasses.replace(components.info, source=os.path.abspath(workdir)),
                       best_states=outcome.best.states, best_actions=outcome.best.actions,
                       final_states=outcome.final.states, final_actions=outcome.final.actions,
                       start_states=outcome.start.states, start_actions=outcome.start.actions,
                       generations=np.asarray(run.num_generations),
                       config_hash=np.array(config_hash),
                       **{k: np.asarray(v) for k, v in outcome.selection.items()})
    score = evaluation.shared_dataset_scorer(
        components.task, components.info, components.student, run.final_students,
        run.final_envs, run.final_steps)
    summary = score(dataset, run.seed + 1)
    summary.update(outcome.selection)
    if outcome.validated is not None:
      same = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(outcome.validated),
                                                      jax.tree.leaves(outcome.final)))
      final_scores = summary if same else score(outcome.final, run.seed + 1)
      summary["final_mean_return_mean"] = final_scores["return_mean"]
      summary["final_mean_return_std"] = final_scores["return_std"]
    summary["zero_dataset_return"] = score(outcome.start, run.seed + 1)["return_mean"]
    return summary

  def summary_line(self, summary: dict) -> str:
    return (f"distilled dataset trains fresh students to {_fmt(summary['return_mean'])} +- "
            f"{_fmt(summary['return_std'])} (over {summary['num_students']} students); the "
            f"ES's starting dataset gives {_fmt(summary['zero_dataset_return'])}")


class WeightsMethod:
  """The neuroevolution baseline: evolve the student's weights (`hades.neuroevolution`)."""

  name = "params"
  result_file = "policy.npz"
  trains_students = False
  allows_fitness_width = False

  def default_num_students(self, mode: str) -> int:
    del mode
    return 1  # One rollout per candidate (the paper).

  def make_genome(self, settings: TaskSettings, parts: types.TaskParts) -> Genome:
    del settings
    init_params = parts.student.init_params
    return Genome(neuroevolution.make_layout(init_params), neuroevolution.identity_train,
                  neuroevolution.make_init_genome(init_params))

  def describe(self, components) -> str:
    return (f"evolving the student's {components.layout.size} weights (obs "
            f"{components.obs_size}, {_actions(components)}), {components.run.num_students} "
            "rollout(s) per candidate")

  def write_results(self, components, outcome: Outcome, workdir: str | None,
                    config_hash: str) -> dict:
    return neuroevolution.write_results(components, outcome.result, outcome.selection,
                                        workdir, config_hash)

  def summary_line(self, summary: dict) -> str:
    return (f"evolved policy returns {_fmt(summary['return_mean'])} +- "
            f"{_fmt(summary['return_std'])} (over {summary['num_students']} rollouts); its "
            f"initial weights gave {_fmt(summary['initial_policy_return'])}")


METHODS: dict[str, Method] = {"dataset": DatasetMethod(), "params": WeightsMethod()}


def get_method(name: str) -> Method:
  if name not in METHODS:
    raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
  return METHODS[name]
