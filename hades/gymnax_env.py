"""Gymnax environments behind the same un-batched interface as the Brax envs.

`GymnaxEnv.reset(key) -> GymnaxState` and `GymnaxEnv.step(state, action) -> GymnaxState` mirror
`tasks.make_env`: `state.obs` is the flattened observation the policy sees, `state.done` is 1.0
on the step an episode ends (termination or time limit), and the returned observation is then
already the first one of the next episode. Vmap `reset`/`step` for parallel envs.

gymnax (>= 1.0) resets inside its own `Environment.step`: it runs the transition, computes
`terminated` (natural end) and `truncated` (`time >= max_steps_in_episode`), and when either is
set returns the state and observation of a fresh reset drawn from its own key. The adapter
therefore calls `env.step` exactly once per step and never resets again.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from flax import struct

from hades.errors import ConfigError

# Short task names -> gymnax environment ids.
GYMNAX_IDS = {
    "cartpole": "CartPole-v1",
    "acrobot": "Acrobot-v1",
    "breakout": "Breakout-MinAtar",
    "space_invaders": "SpaceInvaders-MinAtar",
    "asterix": "Asterix-MinAtar",
    "freeway": "Freeway-MinAtar",
    "seaquest": "Seaquest-MinAtar",
    "pendulum": "Pendulum-v1",
}

# Observation channels of the (10, 10, C) MinAtar grids, in channel order.
MINATAR_CHANNELS = {
    "Breakout-MinAtar": ("paddle", "ball", "trail", "brick"),
    "SpaceInvaders-MinAtar": ("cannon", "alien", "alien_left", "alien_right",
                              "friendly_bullet", "enemy_bullet"),
    "Asterix-MinAtar": ("player", "enemy", "trail", "gold"),
    "Freeway-MinAtar": ("chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5"),
    "Seaquest-MinAtar": ("sub_front", "sub_back", "friendly_bullet", "trail", "enemy_bullet",
                         "enemy_fish", "enemy_sub", "oxygen_gauge", "diver_gauge", "diver"),
}

# Meaning of each discrete action index (gymnax's default minimal action sets).
ACTION_NAMES = {
    "CartPole-v1": ("left", "right"),
    "Acrobot-v1": ("torque -1", "torque 0", "torque +1"),
    "Breakout-MinAtar": ("noop", "left", "right"),
    "SpaceInvaders-MinAtar": ("noop", "left", "right", "fire"),
    "Asterix-MinAtar": ("noop", "left", "up", "right", "down"),
    "Freeway-MinAtar": ("noop", "up", "down"),
    "Seaquest-MinAtar": ("noop", "left", "up", "right", "down", "fire"),
}


def resolve_env_id(name: str) -> str:
  """Returns the gymnax id of a short name ('breakout') or of a gymnax id itself."""
  key = name.strip()
  if key.lower() in GYMNAX_IDS:
    return GYMNAX_IDS[key.lower()]
  if key in GYMNAX_IDS.values():
    return key
  known = ", ".join(sorted(GYMNAX_IDS) + sorted(GYMNAX_IDS.values()))
  raise ConfigError(f"unknown gymnax environment {name!r}; known: {known}")


@struct.dataclass
class GymnaxState:
  """One environment's state (vmap for a batch).

  Attributes:
    env_state: gymnax's own state of the environment.
    obs: [obs_size] float32, the observation flattened row-major (MinAtar (10, 10, C):
      flat index = (row * 10 + col) * C + channel).
    reward: [] float32 reward of the last step.
    done: [] float32, 1.0 when the last step ended the episode (terminated or truncated).
    terminated: [] float32, 1.0 when the episode ended by the game's own end condition.
    truncated: [] float32, 1.0 when the time limit ended an episode that did not terminate
      (so terminated + truncated == done).
    key: PRNG key for the env's own randomness, split at every step.
    steps: [] int32 steps taken in the current episode (0 right after a reset).
  """

  env_state: object
  obs: jax.Array
  reward: jax.Array
  done: jax.Array
  terminated: jax.Array
  truncated: jax.Array
  key: jax.Array
  steps: jax.Array


class GymnaxEnv:
  """A gymnax environment with Brax-like auto-resetting `reset`/`step` (module docstring).

  Attributes:
    env_id: gymnax id, e.g. 'Breakout-MinAtar' (a user's environment: its task name).
    env: the gymnax environment; params: its EnvParams (time limit possibly overridden).
    obs_shape: raw observation shape, e.g. (10, 10, 4).
    observation_size: flattened observation size.
    num_actions: number of discrete actions (0: continuous actions).
    action_size: discrete: the number of actions; continuous: the action's dimensions.
    episode_length: the time limit (max_steps_in_episode).
  """

  def __init__(self, env_id: str, episode_length: int | None = None, env_and_params=None):
    """`env_and_params`: (a gymnax-API environment, its params) of a user's task; None: the
    gymnax registry's environment `env_id`."""
    # Imported here: gymnax creates arrays at import, which starts the XLA backend, and the
    # launchers must choose devices (jax.distributed, CPU device count) after their imports.
    import gymnax
    from gymnax.environments import spaces

    if env_and_params is None:
      self.env_id = resolve_env_id(env_id)
      self.env, params = gymnax.make(self.env_id)
    else:
      self.env_id = env_id
      self.env, params = env_and_params
    if episode_length is not None:
      if int(episode_length) < 1:
        raise ConfigError(f"episode_length must be >= 1, got {episode_length}")
      params = params.replace(max_steps_in_episode=int(episode_length))
    self.params = params
    self.episode_length = int(params.max_steps_in_episode)
    self.obs_shape = tuple(int(d) for d in self.env.observation_space(params).shape)
    self.observation_size = math.prod(self.obs_shape)
    space = self.env.action_space(params)
    if isinstance(space, spaces.Discrete):
      self.num_actions = int(space.n)
      self.action_size = self.num_actions
      self._action_shape = None
    else:
      self.num_actions = 0
      self._action_shape = tuple(int(d) for d in space.shape)
      self.action_size = math.prod(self._action_shape)
      # Students act in [-1, 1] (as in Brax); the env's own range is [low, high].
      self._action_low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32),
                                          self._action_shape)
      self._action_high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32),
                                           self._action_shape)

  @property
  def num_channels(self) -> int:
    """Channels of a MinAtar grid observation (raises for non-grid envs)."""
    if len(self.obs_shape) != 3:
      raise ConfigError(f"{self.env_id} observations are not (H, W, C) grids")
    return self.obs_shape[-1]

  @property
  def action_names(self) -> tuple[str, ...]:
    return ACTION_NAMES.get(self.env_id, tuple(str(a) for a in range(self.num_actions)))

  def reset(self, key: jax.Array) -> GymnaxState:
    """Starts an episode. key: PRNG key; the state carries a key derived from it."""
    reset_key, carry_key = jax.random.split(key)
    obs, env_state = self.env.reset(reset_key, self.params)
    zero = jnp.zeros((), jnp.float32)
    return GymnaxState(env_state=env_state, obs=_flat(obs), reward=zero, done=zero,
                       terminated=zero, truncated=zero, key=carry_key,
                       steps=jnp.zeros((), jnp.int32))

  def step(self, state: GymnaxState, action: jax.Array) -> GymnaxState:
    """Takes `action` (discrete: int32 []; continuous: float32 [action_size] in [-1, 1], mapped
    linearly onto the env's action range); auto-resets when the episode ends (gymnax does it)."""
    key, step_key = jax.random.split(state.key)
    if self._action_shape is None:
      action = jnp.asarray(action, jnp.int32)
    else:
      unit = jnp.reshape(jnp.asarray(action, jnp.float32), self._action_shape)
      action = self._action_low + (unit + 1.0) * 0.5 * (self._action_high - self._action_low)
    obs, env_state, reward, terminated, truncated, _ = self.env.step(
        step_key, state.env_state, action, self.params)
    terminated = jnp.asarray(terminated, bool)
    done = jnp.logical_or(terminated, jnp.asarray(truncated, bool))
    truncated = jnp.logical_and(done, jnp.logical_not(terminated))
    steps = jnp.where(done, 0, state.steps + 1).astype(jnp.int32)
    return GymnaxState(env_state=env_state, obs=_flat(obs),
                       reward=jnp.asarray(reward, jnp.float32), done=done.astype(jnp.float32),
                       terminated=terminated.astype(jnp.float32),
                       truncated=truncated.astype(jnp.float32), key=key, steps=steps)


def _flat(obs: jax.Array) -> jax.Array:
  return jnp.reshape(obs, (-1,)).astype(jnp.float32)


@functools.lru_cache(maxsize=None)
def make_gymnax_env(env_id: str, episode_length: int | None = None) -> GymnaxEnv:
  """Builds (once per arguments) the adapted env; `episode_length` overrides the time limit."""
  return GymnaxEnv(env_id, episode_length)
