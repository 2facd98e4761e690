"""What a task family is: the `TaskSpec` of one task and the `Family` interface.

HaDES is one outer loop (an ES over a dataset) around an inner loop (BC-train fresh students on
it) and a score. A family supplies only what differs between kinds of tasks: the environment or
data source, the student's parts and evaluation (`make_task_parts`), the scorer of a finished
dataset, and its pictures and videos. The ES loop, runner, checkpoints, evaluation, plots,
render, config, multitask and launchers call these methods and never ask which family they
hold. Families are registered by name in `hades.families.FAMILIES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from hades import dataset as dataset_lib
from hades import policy as policy_lib
from hades import student as student_lib
from hades import types

Scorer = Callable[[dataset_lib.SyntheticDataset, int], dict]


@dataclasses.dataclass(frozen=True)
class TaskSpec:
  """Static facts about one task.

  Attributes:
    name: canonical task name (Brax: the Brax environment name; a user's task registered from
      module `m`: 'm:name').
    family: the name of its family in `hades.families.FAMILIES`.
    bc_steps: behaviour-cloning steps the paper used for this task.
    env_id: the family's own id of the environment (gymnax: 'Breakout-MinAtar').
    num_actions: discrete actions or classes (0: continuous actions).
    episode_length: default time limit (0: the environment's own).
    student: the task's own student, over the paper's control one ((name, value) pairs); used
      where no config says otherwise (e.g. scoring a bare dataset file).
    make_env: () -> (environment, its params), for a task whose environment is not in the
      family's own library (a user's gymnax-API environment); None: built from env_id.
    preset_groups: the config presets that apply before the task's own (None: the family's).
    defaults: ("group.field", value) pairs the task brings (a user's task: what suits it),
      applied after the config file's group presets and before its preset for the task.
    aliases: other names that resolve to this task.
  """

  name: str
  family: str = "brax"
  bc_steps: int = 400
  env_id: str = ""
  num_actions: int = 0
  episode_length: int = 1000
  student: tuple = ()
  make_env: Callable[[], tuple[Any, Any]] | None = None
  preset_groups: tuple[str, ...] | None = None
  defaults: tuple[tuple[str, Any], ...] = ()
  aliases: tuple[str, ...] = ()

  @property
  def discrete(self) -> bool:
    return self.num_actions > 0

  @property
  def short_name(self) -> str:
    """The name without its module ('m:name' -> 'name'): a run's folder."""
    return self.name.rsplit(":", 1)[-1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskSettings:
  """What a family needs to build one task's parts, read once from a resolved config by the
  builder (`hades.distill.task_settings`); families never read the config themselves.

  Attributes:
    seed: the run's seed (e.g. which real images a supervised run starts from).
    student: the student, already completed with the task's own (`StudentSettings.for_task`).
    dataset_size: D, the dataset's rows; labels: 'fixed' | 'learned' (discrete heads).
    normalization: 'running' | 'constant' | 'none'; obs_stats: the .npz of constant
      statistics ('' : the family's packaged ones).
    backend, episode_length: the env's (`config.env`); eval_envs x eval_steps: one student's
      evaluation rollout (`config.eval`).
    options: the family's own settings (`Family.options_type`, read from the config section
      `Family.options_section`; None for a family without one).
  """

  seed: int
  student: student_lib.StudentSettings
  dataset_size: int
  labels: str
  normalization: str = "none"
  obs_stats: str = ""
  backend: str = "positional"
  episode_length: int = 0
  eval_envs: int = 1
  eval_steps: int = 1
  options: Any = None


def make_head(spec: TaskSpec, labels: str = "fixed") -> policy_lib.Head:
  """The student head of a task: categorical (with `labels` 'fixed' or 'learned') for discrete
  actions or classes, Gaussian for continuous actions."""
  if spec.discrete:
    return policy_lib.CategoricalHead(labels)
  return policy_lib.GaussianHead()


class Family(Protocol):
  """One kind of task (see the module docstring).

  Attributes:
    name: the registry key.
    has_env: whether its tasks roll out in an environment (videos, env-step benchmarks).
    step_unit: what `TaskParts.eval_steps` counts, for the progress line ('env-steps').
    options_type: a frozen dataclass of the family's own settings, built by the builder from
      the config section `options_section` (its fields' names); None: the family has none.
  """

  name: str
  has_env: bool
  step_unit: str
  options_type: type | None
  options_section: str

  def preset_groups(self, spec: TaskSpec) -> tuple[str, ...]:
    """Config presets applied to the task before its own (`hades.config`)."""

  def make_env(self, spec: TaskSpec, backend: str, episode_length: int):
    """The task's un-batched, auto-resetting env (see `hades.tasks.make_env`)."""

  def check_backend(self, backend: str) -> str:
    """Returns `backend` if the family can use it; raises ConfigError otherwise."""

  def make_task_parts(self, spec: TaskSpec, settings: TaskSettings) -> types.TaskParts:
    """The student, its evaluation and the dataset info `distill.build` needs."""

  def make_dataset_scorer(self, spec: TaskSpec, info: dataset_lib.DatasetInfo,
                          student: student_lib.StudentSettings, num_students: int,
                          num_envs: int, num_steps: int) -> Scorer:
    """score(dataset, seed) -> summary of fresh students trained on a dataset."""

  def evaluate_file(self, spec: TaskSpec, dataset: dataset_lib.SyntheticDataset,
                    info: dataset_lib.DatasetInfo, student: Mapping[str, Any],
                    options: Mapping[str, Any], score_dataset, **kwargs) -> dict:
    """The summary `launch.evaluate` prints for a dataset file (with the family's baselines):
    `score_dataset(dataset, info, student, **kwargs)` is `evaluation.evaluate_dataset`;
    `options` are the family's own settings."""

  def describe_result(self, result: dict) -> str:
    """`evaluate_file`'s result in a line or a few, for people."""

  def plot_dataset(self, spec: TaskSpec, dataset: dataset_lib.SyntheticDataset,
                   info: dataset_lib.DatasetInfo, path: str, start=None) -> None:
    """Writes the dataset's picture (PNG) to `path`."""

  def check_renderer(self, spec: TaskSpec) -> None:
    """Raises InputError with what to install when the task's videos cannot be made here."""

  def write_video(self, spec: TaskSpec, env, states, output: str, every: int, width: int,
                  height: int, html: bool) -> int:
    """Writes the GIF of a rollout's states (leading axis [T]); returns its frame count."""
