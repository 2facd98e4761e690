"""Task registry: the tasks HaDES distils, each a `TaskSpec` of a family (`hades.families`).

Built in: the Brax tasks (hopper, walker2d, ant, ...), the gymnax ones (cartpole, acrobot,
pendulum, the MinAtar games) and fashion_mnist. A user adds tasks from their own module without
editing hades:

  # mypackage/tasks.py
  from hades import tasks
  tasks.register_task(tasks.TaskSpec("point_mass", family="gymnax", make_env=make_point_mass))

and names them `mypackage.tasks:point_mass` wherever a task is asked for (every launcher's
--task, config.task, the Python API): the module is imported, which registers its tasks, and
the task's canonical name is that reference, so configs and dataset files made with it resolve
in any later process. `make_env`, `make_head` and `family_of` are what the rest of hades uses:
nothing outside `hades.families` asks which family a task belongs to.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys

from hades import policy as policy_lib
from hades.errors import ConfigError
from hades import families
from hades.families import base

TaskSpec = base.TaskSpec
TASKS: dict[str, TaskSpec] = {}
ALIASES: dict[str, str] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
  """Adds a task (and its aliases) of a user's module `m` as 'm:<spec.name>' (a script run as
  __main__: as `spec.name`, for this process only). Returns the registered spec.

  Raises ConfigError for an unknown family or a name taken by another task.
  """
  module = sys._getframe(1).f_globals.get("__name__", "__main__")
  if module != "__main__":
    spec = dataclasses.replace(spec, name=f"{module}:{spec.short_name}")
  return _register(spec)


def _register(spec: TaskSpec) -> TaskSpec:
  families.family_of(spec)  # A known family.
  existing = TASKS.get(spec.name)
  if existing is not None and existing != spec:
    raise ConfigError(f"task {spec.name!r} is already registered (as another task)")
  TASKS[spec.name] = spec
  for alias in spec.aliases:
    ALIASES[alias.lower()] = spec.name
  return spec


def _import_task_module(module: str) -> None:
  """Imports a user's module that registers tasks (`module:name` references)."""
  try:
    importlib.import_module(module)
  except ModuleNotFoundError as e:
    if e.name is None or not (module == e.name or module.startswith(e.name + ".")):
      raise  # The module exists; something it imports is missing: its own traceback.
    raise ConfigError(f"cannot import task module {module!r}: {e} (is its folder on "
                      "PYTHONPATH or the current directory?)") from None


def resolve_task(name: str) -> str:
  """Returns the canonical task name for `name`, an alias or 'module:name' (importing the
  module if its tasks are not registered yet); raises ConfigError if unknown."""
  key = name.strip()
  if ":" in key:
    module, short = key.split(":", 1)
    if key not in TASKS:
      _import_task_module(module)
    if key not in TASKS:
      found = [n for n in sorted(TASKS) if n.startswith(module + ":")]
      raise ConfigError(f"module {module!r} registers no task {short!r}; it registers: "
                        f"{', '.join(found) or 'none'}")
    return key
  canonical = ALIASES.get(key.lower(), key.lower())
  if canonical not in TASKS:
    known = ", ".join(sorted(TASKS) + sorted(ALIASES))
    raise ConfigError(f"unknown task {name!r}; known tasks: {known} (or a task of your own "
                      "module: --task=package.module:name)")
  return canonical


def get_task(name: str) -> TaskSpec:
  return TASKS[resolve_task(name)]


def folder(name: str) -> str:
  """The folder of a task's run (or a run named after its task) in a workdir: the name
  without a user task's module ('m:name' -> 'name', 'm:name/HaDES/seed0' -> 'name/HaDES/seed0')."""
  return name.rsplit(":", 1)[-1]


def family_of(task: str) -> base.Family:
  """The family object of a task (name, alias or reference)."""
  return families.family_of(get_task(task))


def lookup(task: str) -> tuple[TaskSpec, base.Family]:
  """(spec, family) of a task (name, alias or reference)."""
  spec = get_task(task)
  return spec, families.family_of(spec)


def make_head(task: str, labels: str = "fixed") -> policy_lib.Head:
  """The student head of a task: Gaussian for continuous actions, categorical (with `labels`
  'fixed' or 'learned') for discrete ones or classes."""
  return base.make_head(get_task(task), labels)


def check_backend(backend: str, task: str) -> str:
  """Returns `backend` if `task`'s family can use it (Brax: positional, generalized, spring,
  mjx); raises ConfigError otherwise."""
  return family_of(task).check_backend(backend)


def make_env(task: str, backend: str = "positional", episode_length: int = 0):
  """Builds (once per arguments) a task's env with automatic reset and `episode_length`-step
  episodes (0: the task's default, Brax 1000, gymnax the env's own limit).

  The returned env is un-batched: `reset(key) -> State`, `step(State, action) -> State`
  (action [act] float for continuous actions, [] int32 for discrete ones); vmap it for parallel
  envs. `State.obs` is the flat observation; `State.done` is 1 on the step an episode ends (by
  termination or time limit), and the returned observation is then already the first one of
  the next episode. `env.observation_size`, `env.action_size` (discrete: number of actions).
  Raises ConfigError for a task without an environment (supervised).
  """
  spec, family = lookup(task)
  return family.make_env(spec, backend, episode_length)


def plot_dataset(dataset, info, path: str, start=None) -> None:
  """Writes the picture of a dataset of task `info.task` (PNG), drawn by its family: MinAtar
  states as the game frames they encode, images as a grid by class next to `start` ([D, obs]
  the images the ES started from), other states and actions as heat-maps."""
  spec, family = lookup(info.task)
  family.plot_dataset(spec, dataset, info, path, start)


def env_sizes(task: str, backend: str = "positional") -> tuple[int, int]:
  """Returns (observation size, action size) of a task."""
  env = make_env(task, backend)
  return int(env.observation_size), int(env.action_size)


for _spec in families.BUILTIN_TASKS:
  _register(_spec)
