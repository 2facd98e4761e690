"""The gymnax adapter: flattened observations, auto-reset, termination vs truncation, vmap."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REFERENCE_DIR

from hades import gymnax_env
from hades import minatar_stats
from hades.errors import ConfigError


def _rollout(env, key, num_steps, policy_key):
  """Steps one env with uniformly random actions; returns the stacked states [T]."""
  actions = jax.random.randint(policy_key, (num_steps,), 0, env.num_actions)

  def step(state, action):
    state = env.step(state, action)
    return state, state

  _, states = jax.lax.scan(step, env.reset(key), actions)
  return states


def test_sizes_and_names():
  cartpole = gymnax_env.make_gymnax_env("cartpole")
  assert (cartpole.observation_size, cartpole.action_size, cartpole.num_actions) == (4, 2, 2)
  breakout = gymnax_env.make_gymnax_env("Breakout-MinAtar")
  assert breakout.obs_shape == (10, 10, 4) and breakout.observation_size == 400
  assert breakout.num_channels == 4 and breakout.action_size == 3
  assert gymnax_env.make_gymnax_env("breakout") is gymnax_env.make_gymnax_env("breakout")
  with pytest.raises(ConfigError):
    gymnax_env.resolve_env_id("pong")
  for env_id, channels in gymnax_env.MINATAR_CHANNELS.items():
    env = gymnax_env.make_gymnax_env(env_id)
    assert env.num_channels == len(channels)
    assert env.num_actions == len(gymnax_env.ACTION_NAMES[env_id])


def test_reset_obs_is_flattened_row_major():
  env = gymnax_env.make_gymnax_env("breakout")
  state = env.reset(jax.random.PRNGKey(0))
  assert state.obs.shape == (400,) and state.obs.dtype == jnp.float32
  grid = np.asarray(state.obs).reshape(10, 10, 4)
  np.testing.assert_array_equal(grid[1:4, :, 3], 1.0)  # Three rows of bricks.
  assert grid[9, :, 0].sum() == 1.0  # One paddle cell on the bottom row.
  assert int(state.steps) == 0 and float(state.done) == 0.0


def test_cartpole_terminates_and_resets():
  env = gymnax_env.make_gymnax_env("cartpole")
  states = jax.jit(lambda k: _rollout(env, k, 500, jax.random.PRNGKey(1)))(jax.random.PRNGKey(0))
  done = np.asarray(states.done)
  assert done.sum() >= 1, "a random CartPole policy must fail within 500 steps"
  first = int(np.argmax(done))
  assert states.terminated[first] == 1.0 and states.truncated[first] == 0.0
  assert int(states.steps[first]) == 0 and int(states.steps[first - 1]) == first
  assert np.all(np.abs(np.asarray(states.obs[first])) <= 0.05)  # A fresh reset observation.
  np.testing.assert_array_equal(states.reward[:first + 1], 1.0)
  np.testing.assert_array_equal(done, np.asarray(states.terminated) + states.truncated)


def test_truncation_at_episode_length():
  env = gymnax_env.make_gymnax_env("breakout", episode_length=5)
  assert env.episode_length == 5
  states = _rollout(env, jax.random.PRNGKey(0), 12, jax.random.PRNGKey(1))
  done = np.asarray(states.done)
  # Breakout cannot lose the ball within 5 steps from its start row, so only the limit ends it.
  np.testing.assert_array_equal(np.flatnonzero(done), [4, 9])
  np.testing.assert_array_equal(np.asarray(states.truncated)[[4, 9]], 1.0)
  np.testing.assert_array_equal(np.asarray(states.terminated), 0.0)
  np.testing.assert_array_equal(np.asarray(states.steps), [1, 2, 3, 4, 0] * 2 + [1, 2])
  # The observation after the limit is a fresh reset (full brick rows again).
  np.testing.assert_array_equal(np.asarray(states.obs[4]).reshape(10, 10, 4)[1:4, :, 3], 1.0)
  with pytest.raises(ConfigError):
    gymnax_env.GymnaxEnv("breakout", episode_length=0)


def test_jit_vmap_and_keys_advance():
  env = gymnax_env.make_gymnax_env("space_invaders")
  states = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 3))
  assert states.obs.shape == (3, 600)
  step = jax.jit(jax.vmap(env.step))
  keys = [np.asarray(jax.random.key_data(states.key))]
  for _ in range(3):
    states = step(states, jnp.array([0, 1, 3], jnp.int32))
    keys.append(np.asarray(jax.random.key_data(states.key)))
  assert states.reward.shape == (3,) and states.done.dtype == jnp.float32
  assert len({k.tobytes() for k in keys}) == len(keys)  # A new key every step.
  assert len({k[i].tobytes() for k in keys for i in range(3)}) == 3 * len(keys)  # Per env too.


def test_other_envs_step():
  for name, size in (("acrobot", 6), ("seaquest", 1000), ("freeway", 700), ("asterix", 400)):
    env = gymnax_env.make_gymnax_env(name)
    state = jax.jit(lambda k, e=env: e.step(e.reset(k), jnp.int32(0)))(jax.random.PRNGKey(0))
    assert state.obs.shape == (size,) and state.reward.shape == ()
    assert int(state.steps) == 1


def test_packaged_stats_match_obs_sizes_and_shared_files():
  for env_id in ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar",
                 "Freeway-MinAtar"):
    mean, var = minatar_stats.load_obs_stats(env_id)
    size = gymnax_env.make_gymnax_env(env_id).observation_size
    assert mean.shape == var.shape == (size,) and mean.dtype == np.float32
    assert np.all(var >= 0)
    src = os.path.join(REFERENCE_DIR, "normalize_params")
    if os.path.isdir(src):
      np.testing.assert_array_equal(mean, np.load(os.path.join(src, f"mean_{env_id}.npy")))
      np.testing.assert_array_equal(var, np.load(os.path.join(src, f"var_{env_id}.npy")))
  with pytest.raises(ConfigError):
    minatar_stats.load_obs_stats("Seaquest-MinAtar")


def test_stats_equal_released_files_when_present():
  path = os.path.join(REFERENCE_DIR, "minatar",
                      "minatar_Breakout-MinAtar_D16_distill_seed0.npz")
  if not os.path.isfile(path):
    pytest.skip("shared reference files absent")
  mean, var = minatar_stats.load_obs_stats("Breakout-MinAtar")
  with np.load(path) as data:
    np.testing.assert_array_equal(mean, data["obs_mean"])
    np.testing.assert_array_equal(var, data["obs_var"])


def test_space_invaders_paper_has_gymnax_006s_first_wave_and_bullet_rule():
  """`space_invaders_paper` (gymnax 0.0.6, the paper's env) against today's SpaceInvaders: 28
  aliens in the first wave instead of 24; a bullet landing in the column the cannon left ends
  the episode, one landing in the column it moved to does not (today: the other way round)."""
  from gymnax.environments.minatar import space_invaders
  from hades.families import minatar_paper
  from hades import tasks

  paper, today = minatar_paper.SpaceInvadersPaper(), space_invaders.MinSpaceInvaders()
  params = today.default_params
  _, start = paper.reset_env(jax.random.key(0), params)
  _, start_today = today.reset_env(jax.random.key(0), params)
  assert int(start.alien_map.sum()) == 28 and int(start_today.alien_map.sum()) == 24
  np.testing.assert_array_equal(np.flatnonzero(start.alien_map.any(axis=0)), range(2, 9))
  right = 2  # noop, left, right, fire
  cannon = start.replace(pos=jnp.int32(5))
  for bullet_column, paper_dies in ((5, True), (6, False)):  # Row 8 moves to row 9 this step.
    state = cannon.replace(e_bullet_map=cannon.e_bullet_map.at[8, bullet_column].set(True))
    _, after, _, done, _ = paper.step_env(jax.random.key(1), state, right, params)
    _, after_today, _, done_today, _ = today.step_env(jax.random.key(1), state, right, params)
    assert int(after.pos) == int(after_today.pos) == 6
    assert (bool(done), bool(done_today)) == (paper_dies, not paper_dies)
  # Everything else is today's: the same state and action give the same next state.
  state = cannon.replace(alien_map=start_today.alien_map)
  _, after, reward, _, _ = paper.step_env(jax.random.key(2), state, 3, params)
  _, after_today, reward_today, _, _ = today.step_env(jax.random.key(2), state, 3, params)
  assert float(reward) == float(reward_today)
  for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(after_today)):
    np.testing.assert_array_equal(a, b)
  env = tasks.make_env("space_invaders_paper")
  assert env.env_id == "SpaceInvaders-MinAtar" and env.observation_size == 600
