"""Policy evaluation in Brax, with the paper's observation-normalisation modes.

Modes (the student always sees normalised observations; dataset states live in that space):
  running:  statistics restarted at every evaluation (mean 0, var 1, count 1e-4) and updated from
            the batch of parallel-env observations before each policy call (Welford merge).
  constant: (obs - obs_mean) / sqrt(obs_var + 1e-8) with given statistics.
  none:     raw observations.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hades import policy as policy_lib
from hades import types
from hades.errors import ConfigError

_EPS = 1e-8


@struct.dataclass
class RunningStats:
  """Running observation statistics: mean [obs], var [obs], count []."""

  mean: jax.Array
  var: jax.Array
  count: jax.Array

  @classmethod
  def create(cls, obs_size: int) -> "RunningStats":
    return cls(jnp.zeros((obs_size,)), jnp.ones((obs_size,)), jnp.asarray(1e-4))

  def update(self, batch: jax.Array) -> "RunningStats":
    """Merges a batch [B, obs] (parallel algorithm of Chan et al.)."""
    batch_mean = jnp.mean(batch, axis=0)
    batch_var = jnp.var(batch, axis=0)
    batch_count = batch.shape[0]
    delta = batch_mean - self.mean
    total = self.count + batch_count
    mean = self.mean + delta * batch_count / total
    m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
    return RunningStats(mean, m2 / total, total)


def normalize(obs: jax.Array, mean: jax.Array, var: jax.Array) -> jax.Array:
  return (obs - mean) / jnp.sqrt(var + _EPS)


def make_observe(obs_size: int, normalization: str = "running", obs_mean=None, obs_var=None):
  """Returns observe(stats, obs [B, obs]) -> (stats, normalised obs [B, obs]): what the student
  sees of a batch of parallel-env observations under `normalization` (module docstring)."""
  if normalization == "constant":
    if obs_mean is None or obs_var is None:
      raise ConfigError("constant normalization needs obs_mean and obs_var")
    const_mean = jnp.asarray(np.asarray(obs_mean, np.float32).reshape(obs_size))
    const_var = jnp.asarray(np.asarray(obs_var, np.float32).reshape(obs_size))
  elif normalization not in ("running", "none"):
    raise ConfigError(f"unknown normalization {normalization!r}")

  def observe(stats: RunningStats, obs: jax.Array):
    if normalization == "running":
      stats = stats.update(obs)
      return stats, normalize(obs, stats.mean, stats.var)
    if normalization == "constant":
      return stats, normalize(obs, const_mean, const_var)
    return stats, obs

  return observe


EvalResult = types.EvalResult


def make_evaluate(env, policy: types.Policy, num_envs: int, num_steps: int,
                  normalization: str = "running", obs_mean=None, obs_var=None,
                  deterministic: bool = False,
                  head: policy_lib.Head = policy_lib.GaussianHead()) -> types.Evaluate:
  """Returns evaluate(params, key) -> EvalResult.

  Args:
    env: un-batched auto-resetting env (`tasks.make_env`: Brax, or gymnax through
      `hades.gymnax_env`).
    policy: student network; `params` are a single student's parameters.
    num_envs, num_steps: N parallel envs stepped T times (N*T env steps).
    normalization: 'running' | 'constant' | 'none' (see module docstring).
    obs_mean, obs_var: [obs] statistics for 'constant'.
    deterministic: act with the Gaussian mean / the likeliest action instead of sampling
      (the paper samples).
    head: turns the policy's outputs into env actions (`policy.GaussianHead` or
      `policy.CategoricalHead`).
  """
  if num_envs < 1 or num_steps < 1:
    raise ConfigError(f"evaluation needs num_envs >= 1 and num_steps >= 1, got {num_envs}, "
                     f"{num_steps}")
  obs_size = env.observation_size
  observe = make_observe(obs_size, normalization, obs_mean, obs_var)

  def evaluate(params, key: jax.Array) -> EvalResult:
    reset_key, act_key = jax.random.split(key)
    env_state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))
    zeros = jnp.zeros((num_envs,))
    carry = (env_state, RunningStats.create(obs_size), zeros, zeros, zeros, zeros)

    def step(carry, key):
      env_state, stats, episode_return, return_sum, return_sq_sum, num_episodes = carry
      stats, obs = observe(stats, env_state.obs)
      out, log_std = policy.apply(params, obs)
      env_state = jax.vmap(env.step)(env_state, head.act(key, out, log_std, deterministic))
      episode_return = episode_return + env_state.reward
      done = env_state.done
      return_sum += done * episode_return
      return_sq_sum += done * episode_return**2
      num_episodes += done
      episode_return = jnp.where(done > 0, 0.0, episode_return)
      return (env_state, stats, episode_return, return_sum, return_sq_sum, num_episodes), None

    carry, _ = jax.lax.scan(step, carry, jax.random.split(act_key, num_steps))
    _, _, episode_return, return_sum, return_sq_sum, num_episodes = carry
    return EvalResult(jnp.sum(return_sum), jnp.sum(return_sq_sum), jnp.sum(num_episodes),
                      jnp.mean(episode_return))

  return evaluate


def make_trajectory(env, policy: types.Policy, num_steps: int, normalization: str = "running",
                    obs_mean=None, obs_var=None, deterministic: bool = False,
                    head: policy_lib.Head = policy_lib.GaussianHead()):
  """Returns trajectory(params, key) -> (env states [T] (stacked: Brax pipeline states, gymnax
  states), rewards [T], dones [T]) of one env, for rendering; same observation handling as
  `make_evaluate`."""
  obs_size = env.observation_size
  observe = make_observe(obs_size, normalization, obs_mean, obs_var)

  def trajectory(params, key):
    reset_key, act_key = jax.random.split(key)
    env_state = env.reset(reset_key)

    def step(carry, key):
      env_state, stats = carry
      stats, obs = observe(stats, env_state.obs[None])  # A batch of one env.
      out, log_std = policy.apply(params, obs[0])
      env_state = env.step(env_state, head.act(key, out, log_std, deterministic))
      frame = getattr(env_state, "pipeline_state", env_state)  # Brax: what renders.
      return (env_state, stats), (frame, env_state.reward, env_state.done)

    _, out = jax.lax.scan(step, (env_state, RunningStats.create(obs_size)),
                          jax.random.split(act_key, num_steps))
    return out

  return trajectory
