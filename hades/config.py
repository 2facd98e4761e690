"""Resolving a run's config: file < its per-task preset < command line, then validation.

A config file (`hades/configs/*.py`) may carry `task_presets`: {name: {group: {field: value}}},
values that suit one task (e.g. fewer generations for ant on a CPU) or a group of them. A
task gets the presets of its family's groups ('brax', 'gymnax', then 'minatar' for MinAtar
games: `Family.preset_groups`), then the task's own `TaskSpec.defaults` (a user's task brings
its own), then the file's preset for the task. They apply after the file and before the
command-line overrides, so a value the user typed always wins. The resolved config holds no
presets: it is self-contained, and its hash identifies the run's results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import runpy
from collections.abc import Iterator, Mapping
from typing import Any

import ml_collections

from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import methods
from hades import tasks
from hades.errors import ConfigError

# es.candidates_per_chunk = AUTO_CHUNK resolves to gcd(population_size, DEFAULT_CHUNK): chunks
# of a size fixed by the config, so the result does not depend on the device count.
AUTO_CHUNK, DEFAULT_CHUNK = -1, 16
# Fields that do not change a run's results (how it logs and checkpoints).
NON_RESULT_FIELDS = ("log.", "checkpoint.")
# Fields that may change when a run is resumed from its checkpoint.
RESUMABLE_CHANGES = ("es.num_generations", "final_eval.") + NON_RESULT_FIELDS


def flatten(d: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
  """Yields ('a.b.c', value) for every leaf of a nested dict."""
  for k, v in d.items():
    if isinstance(v, Mapping):
      yield from flatten(v, f"{prefix}{k}.")
    else:
      yield f"{prefix}{k}", v


def config_differences(saved: dict, requested: dict, ignore: tuple[str, ...] = ()) -> list[str]:
  """Flattened keys whose values differ between two nested config dicts, except those starting
  with one of the `ignore` prefixes."""
  a, b = dict(flatten(saved)), dict(flatten(requested))
  return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and not k.startswith(ignore))


def config_hash(config: ml_collections.ConfigDict | dict,
                ignore: tuple[str, ...] = NON_RESULT_FIELDS) -> str:
  """A short content hash of the fields of a resolved config that determine its results."""
  d = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else config
  fields = {k: v for k, v in flatten(d) if not k.startswith(ignore)}
  text = json.dumps(fields, sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_config(config: ml_collections.ConfigDict,
                   overrides: Mapping[str, Any] | None = None) -> ml_collections.ConfigDict:
  """Returns the run's config: `config`, then its preset for the task, then `overrides`.

  Args:
    config: a config file's config (command-line values may already be applied to it).
    overrides: {'es.num_generations': 300, ...}, the values the user gave on the command line;
      they are applied again after the task's preset, so they always win.

  Fills task-dependent defaults (canonical task name, bc_steps 0 -> the task's, num_students
  0 -> the mode's, chunk -1 -> gcd(population, 16)) and validates. Returns a new, locked ConfigDict without `task_presets`;
  raises ConfigError with a clear message.
  """
  config = ml_collections.ConfigDict(config.to_dict())
  overrides = dict(overrides or {})
  config.task = tasks.resolve_task(overrides.pop("task", config.task))
  presets = config.get("task_presets", None) or {}
  spec, family = tasks.lookup(config.task)
  groups = list(spec.preset_groups if spec.preset_groups is not None
                else family.preset_groups(spec))
  assignments = []
  for name in groups:
    preset = presets.get(name, None)
    assignments += list(flatten(preset.to_dict() if preset else {}))
  assignments += list(spec.defaults)
  preset = presets.get(config.task, None)
  assignments += list(flatten(preset.to_dict() if preset else {}))
  for key, value in assignments + list(overrides.items()):
    _set(config, key, value)
  if "task_presets" in config:
    del config["task_presets"]
  if config.es.candidates_per_chunk == AUTO_CHUNK and config.es.population_size > 0:
    config.es.candidates_per_chunk = math.gcd(config.es.population_size, DEFAULT_CHUNK)
  if config.student.bc_steps <= 0:
    config.student.bc_steps = spec.bc_steps
  if config.dataset.labels == "auto":
    config.dataset.labels = "fixed" if spec.discrete else "learned"
  config.hades.mode = fitness_lib.resolve_mode(config.hades.mode)
  method = methods.get_method(config.method)
  if config.hades.num_students <= 0:
    config.hades.num_students = method.default_num_students(config.hades.mode)
  _validate(config)
  config.lock()
  return config


def is_resolved(config: ml_collections.ConfigDict) -> bool:
  """Whether `config` is what `resolve_config` returns (locked, its presets applied)."""
  return config.is_locked and "task_presets" not in config


def ensure_resolved(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """`config` if it is resolved, else `resolve_config(config)`: resolving twice would apply the
  presets and task defaults again, over values the command line set."""
  return config if is_resolved(config) else resolve_config(config)


def typed(section: Mapping[str, Any], cls: type):
  """The frozen dataclass `cls` with the values of a config section (its fields' names; a field
  the section lacks keeps its default): how the builder hands settings below it."""
  return cls(**{f.name: section[f.name] for f in dataclasses.fields(cls) if f.name in section})


def load_config_file(path: str, task: str,
                     assignments: list[str] = ()) -> ml_collections.ConfigDict:
  """Resolved config from a config file, its preset for `task`, then "key=value" assignments
  (typed like the field they set; they always win). For scripts without absl flags (bench/)."""
  config = runpy.run_path(path)["get_config"]()
  overrides = {"task": task}
  for item in assignments:
    key, value = item.split("=", 1)
    old = config
    for part in key.split("."):
      old = old[part]
    overrides[key] = value == "True" if isinstance(old, bool) else type(old)(value)
  return resolve_config(config, overrides)


def _set(config: ml_collections.ConfigDict, key: str, value: Any) -> None:
  *path, leaf = key.split(".")
  node = config
  for part in path:
    if part not in node:
      raise ConfigError(f"unknown config field {key!r}")
    node = node[part]
  if leaf not in node:
    raise ConfigError(f"unknown config field {key!r}")
  node[leaf] = value


def _validate(config: ml_collections.ConfigDict) -> None:
  method = methods.get_method(config.method)
  if config.hades.mode == "fixed" and config.hades.num_students != 1:
    raise ConfigError(f"HaDES-F trains one fixed student init: hades.num_students must be 1 (or "
                      f"0 for the mode's default), got {config.hades.num_students}")
  fitness_lib.check_student_reduce(config.hades.student_reduce)
  if config.hades.fitness_width < 0:
    raise ConfigError(f"hades.fitness_width must be >= 0, got {config.hades.fitness_width}")
  if config.hades.fitness_width and (config.hades.mode == "fixed"
                                     or not method.allows_fitness_width):
    raise ConfigError("hades.fitness_width needs HaDES-R datasets (hades.mode=R, "
                      "method=dataset): a fixed init or evolved weights belong to one width")
  tasks.check_backend(config.env.backend, config.task)
  if config.dataset.size < 1:
    raise ConfigError(f"dataset size must be >= 1, got {config.dataset.size}")
  spec = tasks.get_task(config.task)
  dataset_lib.check_labels(config.dataset.labels, config.dataset.size, spec.num_actions,
                           spec.discrete)
  if config.dataset.normalization not in dataset_lib.NORMALIZATIONS:
    raise ConfigError(f"unknown normalization {config.dataset.normalization!r}; choose one of "
                      f"{dataset_lib.NORMALIZATIONS}")
  if config.es.num_generations < 1:
    raise ConfigError(f"num_generations must be >= 1, got {config.es.num_generations}")
  for key in ("num_envs", "num_steps"):
    if config.eval[key] < 1:
      raise ConfigError(f"eval.{key} must be >= 1, got {config.eval[key]}")
  if config.student.bc_steps < 0:
    raise ConfigError(f"student.bc_steps must be >= 0, got {config.student.bc_steps}")
  _validate_later_failures(config)


def _at_least(config: ml_collections.ConfigDict, key: str, low: int, why: str = "") -> None:
  section, field = key.split(".")
  if config[section][field] < low:
    raise ConfigError(f"{key} must be >= {low}{why}, got {config[section][field]}")


# Below this a float32 schedule has lost its precision (the smallest normal float32 is 1.2e-38).
_SMALLEST_SCHEDULE_VALUE = 1e-30


def _validate_later_failures(config: ml_collections.ConfigDict) -> None:
  """Values that would fail only after the generations, or quietly spoil them."""
  _at_least(config, "final_eval.num_students", 1, " (the result's fresh students)")
  _at_least(config, "final_eval.num_steps", 1)
  _at_least(config, "final_eval.num_envs", 0, " (0: eval.num_envs)")
  _at_least(config, "checkpoint.keep_latest", 1, " (a run resumes from its latest checkpoint)")
  _at_least(config, "checkpoint.keep_best", 0)
  _at_least(config, "checkpoint.every_generations", 1)
  es = config.es
  for name, limit, decay in (("sigma", "sigma_limit", "sigma_decay"),
                             ("learning_rate", "lr_limit", "lr_decay")):
    if not es[name] > 0:
      raise ConfigError(f"es.{name} must be > 0, got {es[name]}")
    last = max(es[limit], es[name] * es[decay] ** es.num_generations)
    if not last >= _SMALLEST_SCHEDULE_VALUE:
      raise ConfigError(f"es.{name}={es[name]} x es.{decay}={es[decay]} per generation reaches "
                        f"{last:.3g} by generation {es.num_generations}: a schedule that "
                        f"reaches zero stalls or breaks the ES; set es.{limit} > 0")
  if config.dataset.normalization == "constant" and config.dataset.obs_stats:
    dataset_lib.read_obs_stats(config.dataset.obs_stats)
