"""The task families, by name (see `base.Family`): what differs between kinds of tasks.

  FAMILIES["brax"].make_env(spec, backend, episode_length)

A new family is a module with an object implementing `base.Family`, registered here with one
line (or from a user's module with `register_family`); its tasks go to `hades.tasks`.
"""

from __future__ import annotations

from hades.errors import ConfigError
from hades.families import base
from hades.families import brax
from hades.families import gymnax
from hades.families import supervised

FAMILIES: dict[str, base.Family] = {
    "brax": brax.FAMILY,
    "gymnax": gymnax.FAMILY,
    "supervised": supervised.FAMILY,
}

# Every family module's built-in tasks, registered by `hades.tasks`.
BUILTIN_TASKS = brax.TASKS + gymnax.TASKS + supervised.TASKS


def register_family(family: base.Family) -> base.Family:
  """Adds `family` under `family.name` (a user's family); returns it."""
  FAMILIES[family.name] = family
  return family


def family_of(spec: base.TaskSpec) -> base.Family:
  """The family object of a task."""
  return get_family(spec.family)


def get_family(name: str) -> base.Family:
  if name not in FAMILIES:
    raise ConfigError(f"unknown task family {name!r}; known: {', '.join(sorted(FAMILIES))}")
  return FAMILIES[name]
