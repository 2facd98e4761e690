"""Task registry: Brax environments that HaDES distils, with their defaults.

A task is a Brax environment name plus what the paper used per task (number of BC steps).
`make_env` builds the environment wrapped for fixed-length episodes with auto-reset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools

import jax
from brax import envs as brax_envs
from brax.envs.wrappers import training as brax_training
from mujoco import mjx

from hades import paper_envs  # noqa: F401  (registers the paper's brax 0.9.4 env variants)
from hades.errors import ConfigError

BACKENDS = ("positional", "generalized", "spring", "mjx")


@dataclasses.dataclass(frozen=True)
class TaskSpec:
  """Static facts about one task.

  Attributes:
    name: canonical Brax environment name.
    bc_steps: behaviour-cloning steps the paper used for this task.
  """

  name: str
  bc_steps: int = 400


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("ant"),
        TaskSpec("halfcheetah"),
        TaskSpec("hopper", bc_steps=200),
        TaskSpec("humanoid"),
        TaskSpec("humanoidstandup"),
        TaskSpec("inverted_double_pendulum", bc_steps=200),
        # The paper's IDP (brax 0.9.4 reward and termination), see hades/paper_envs.py.
        TaskSpec("inverted_double_pendulum_paper", bc_steps=200),
        TaskSpec("reacher"),
        TaskSpec("walker2d"),
    )
}

ALIASES = {"walker": "walker2d", "cheetah": "halfcheetah", "idp": "inverted_double_pendulum"}


def resolve_task(name: str) -> str:
  """Returns the canonical task name for `name` or an alias; raises ConfigError if unknown."""
  canonical = ALIASES.get(name.strip().lower(), name.strip().lower())
  if canonical not in TASKS:
    known = ", ".join(sorted(TASKS) + sorted(ALIASES))
    raise ConfigError(f"unknown task {name!r}; known tasks: {known}")
  return canonical


def get_task(name: str) -> TaskSpec:
  return TASKS[resolve_task(name)]


def check_backend(backend: str) -> str:
  if backend not in BACKENDS:
    raise ConfigError(f"unknown Brax backend {backend!r}; choose one of {', '.join(BACKENDS)}")
  return backend


@contextlib.contextmanager
def _models_on_local_device():
  """Brax builds its System with mujoco.mjx.put_model, which places it on jax.devices()[0]. In a
  multi-process run that device belongs to process 0, and every other process would get a
  model it cannot read (JAX refuses to compile with it). Point put_model at this process's own
  first device while the env is built; one process: nothing changes."""
  if jax.process_count() == 1:
    yield
    return
  original = mjx.put_model
  mjx.put_model = functools.partial(original, device=jax.local_devices()[0])
  try:
    yield
  finally:
    mjx.put_model = original


@functools.lru_cache(maxsize=None)
def make_env(task: str, backend: str = "positional", episode_length: int = 1000):
  """Builds a Brax env with `episode_length`-step episodes and automatic reset.

  The returned env is un-batched: `reset(key) -> State`, `step(State, action[act]) -> State`;
  vmap it for parallel envs. `State.done` is 1 on the step an episode ends (by termination or
  time limit), and the returned observation is then already the first one of the next episode.
  """
  name, backend = resolve_task(task), check_backend(backend)
  with _models_on_local_device():
    env = brax_envs.get_environment(name, backend=backend)
  env = brax_training.EpisodeWrapper(env, episode_length=episode_length, action_repeat=1)
  return brax_training.AutoResetWrapper(env)


def env_sizes(task: str, backend: str = "positional") -> tuple[int, int]:
  """Returns (observation size, action size) of a task."""
  env = make_env(task, backend)
  return int(env.observation_size), int(env.action_size)
