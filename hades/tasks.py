"""Task registry: the environments HaDES distils, by family, with their defaults.

A task is its family, its environment and what the paper used for it (BC steps). Families:
  brax:   continuous control (hopper, walker2d, ...): Gaussian students, evolved actions.
  gymnax: discrete control (cartpole, acrobot, MinAtar games): categorical students, fixed
          one-hot or evolved (learned) labels.
  supervised: labelled images (fashion_mnist, any MNIST-format files): CNN classifiers,
          scored on real images (`hades.supervised`); no environment.
`make_env` builds either control family's env behind one interface (un-batched,
auto-resetting, `obs`, `reward`, `done`); `make_head` gives the student head of a task.
Nothing downstream branches on the family: it uses the env, the head and the sizes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools

import jax
from brax import envs as brax_envs
from brax.envs.wrappers import training as brax_training
from mujoco import mjx

from hades import gymnax_env
from hades import paper_envs  # noqa: F401  (registers the paper's brax 0.9.4 env variants)
from hades import policy as policy_lib
from hades.errors import ConfigError

BACKENDS = ("positional", "generalized", "spring", "mjx")
FAMILIES = ("brax", "gymnax", "supervised")


@dataclasses.dataclass(frozen=True)
class TaskSpec:
  """Static facts about one task.

  Attributes:
    name: canonical task name (Brax: the Brax environment name).
    bc_steps: behaviour-cloning steps the paper used for this task.
    family: 'brax' (continuous actions), 'gymnax' (discrete actions) or 'supervised'
      (image classes).
    env_id: gymnax environment id (gymnax family).
    num_actions: discrete actions or classes (0: continuous).
    episode_length: default time limit (0: the environment's own).
    student: the task's own student, over the paper's control one (name, value) pairs; used
      where no config says otherwise (e.g. scoring a bare dataset file).
  """

  name: str
  bc_steps: int = 400
  family: str = "brax"
  env_id: str = ""
  num_actions: int = 0
  episode_length: int = 1000
  student: tuple = ()

  @property
  def discrete(self) -> bool:
    return self.num_actions > 0

  @property
  def minatar(self) -> bool:
    return self.env_id.endswith("-MinAtar")


def _gymnax(name: str, num_actions: int) -> TaskSpec:
  # The paper's MinAtar students: 64 BC steps. Episodes end at the env's own time limit
  # (CartPole/Acrobot 500, MinAtar 1000, Freeway 2500 steps).
  return TaskSpec(name, bc_steps=64, family="gymnax", env_id=gymnax_env.GYMNAX_IDS[name],
                  num_actions=num_actions, episode_length=0)


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
        _gymnax("cartpole", 2),
        _gymnax("acrobot", 3),
        _gymnax("breakout", 3),
        _gymnax("space_invaders", 4),
        _gymnax("asterix", 5),
        _gymnax("freeway", 3),
        _gymnax("seaquest", 6),
        # The paper's supervised student: conv 16 3x3 -> dense 128 -> 10, 1000 full-batch SGD
        # steps at 0.1.
        TaskSpec("fashion_mnist", bc_steps=1000, family="supervised", num_actions=10,
                 episode_length=0,
                 student=(("conv_channels", 16), ("conv_stride", 1), ("width", 128),
                          ("depth", 1), ("activation", "relu"), ("kernel_init", "lecun_normal"),
                          ("optimizer", "sgd"), ("learning_rate", 0.1),
                          ("max_grad_norm", 0.0))),
    )
}

ALIASES = {"walker": "walker2d", "cheetah": "halfcheetah", "idp": "inverted_double_pendulum",
           "spaceinvaders": "space_invaders", "fashion-mnist": "fashion_mnist",
           "fashionmnist": "fashion_mnist",
           # gymnax ids name their tasks too.
           **{env_id.lower(): name for name, env_id in gymnax_env.GYMNAX_IDS.items()}}


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


def make_head(task: str, labels: str = "fixed") -> policy_lib.Head:
  """The student head of a task: Gaussian for continuous actions, categorical (with `labels`
  'fixed' or 'learned') for discrete ones."""
  if get_task(task).discrete:
    return policy_lib.CategoricalHead(labels)
  return policy_lib.GaussianHead()


@functools.lru_cache(maxsize=None)
def make_env(task: str, backend: str = "positional", episode_length: int = 0):
  """Builds a task's env with automatic reset and `episode_length`-step episodes (0: the
  task's default, Brax 1000, gymnax the env's own limit).

  The returned env is un-batched: `reset(key) -> State`, `step(State, action) -> State`
  (action [act] float for Brax, [] int32 for gymnax); vmap it for parallel envs. `State.obs`
  is the flat observation; `State.done` is 1 on the step an episode ends (by termination or
  time limit), and the returned observation is then already the first one of the next episode.
  `env.observation_size`, `env.action_size` (discrete: number of actions).
  """
  name = resolve_task(task)
  spec = TASKS[name]
  if spec.family == "supervised":
    raise ConfigError(f"{name} is a supervised task: it has no environment to roll out")
  length = episode_length if episode_length > 0 else spec.episode_length
  if spec.family == "gymnax":
    return gymnax_env.make_gymnax_env(spec.env_id, length or None)
  backend = check_backend(backend)
  with _models_on_local_device():
    env = brax_envs.get_environment(name, backend=backend)
  env = brax_training.EpisodeWrapper(env, episode_length=length, action_repeat=1)
  return brax_training.AutoResetWrapper(env)


def env_sizes(task: str, backend: str = "positional") -> tuple[int, int]:
  """Returns (observation size, action size) of a task."""
  env = make_env(task, backend)
  return int(env.observation_size), int(env.action_size)
