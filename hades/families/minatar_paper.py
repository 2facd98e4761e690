"""MinAtar SpaceInvaders as gymnax 0.0.6 defined it: the env the paper's datasets were made in.

The paper's released SpaceInvaders datasets were distilled against gymnax 0.0.6. gymnax 1.0
(which hades runs) follows the original MinAtar game, and differs from 0.0.6 in two transitions:

* First wave. 0.0.6's reset places 4 rows x 7 columns of aliens (columns 2 to 8, 28 aliens);
  today's reset, and every later wave in both versions, 4 x 6 (columns 2 to 7, 24 aliens).
* Enemy bullets. After the cannon moves and the bullets advance one row, 0.0.6 ends the episode
  when an enemy bullet reaches the bottom row in the column the cannon *left*; today's env, in
  the column the cannon *moved to*. A cannon stepping under a bullet dies today and survived in
  0.0.6; one stepping away from a bullet survives today and died in 0.0.6.

Everything else (actions, alien movement and fire, rewards, the 1000-step time limit, the
observation) is today's env: `SpaceInvadersPaper` subclasses gymnax's `MinSpaceInvaders` and
reuses its transition functions, changing only the two rules above. The task
`space_invaders_paper` (hades/families/gymnax.py) runs it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymnax.environments.minatar import space_invaders as gymnax_space_invaders

# 0.0.6's first wave: rows 0-3, columns 2-8 (later waves: columns 2-7, as today).
FIRST_WAVE_ROWS = slice(0, 4)
FIRST_WAVE_COLUMNS = slice(2, 9)
WAVE_COLUMNS = slice(2, 8)
BOTTOM_ROW = 9


def move_cannon(action: jax.Array, state, params):
  """The player's part of a step with 0.0.6's bullet rule: today's `step_agent` (fire, move,
  bullets advance), then the collision checked in the column the cannon left."""
  moved = gymnax_space_invaders.step_agent(action, state, params)
  hit = moved.e_bullet_map[BOTTOM_ROW, state.pos]
  return moved.replace(terminal=jnp.logical_or(state.terminal, hit))


class SpaceInvadersPaper(gymnax_space_invaders.MinSpaceInvaders):
  """gymnax's `MinSpaceInvaders` with 0.0.6's first wave and bullet rule (module docstring)."""

  def reset_env(self, key: jax.Array, params):
    _, state = super().reset_env(key, params)
    first_wave = jnp.zeros_like(state.alien_map).at[FIRST_WAVE_ROWS, FIRST_WAVE_COLUMNS].set(True)
    state = state.replace(alien_map=first_wave)
    return self.get_obs(state), state

  def step_env(self, key: jax.Array, state, action, params):
    state = move_cannon(self.action_set[action], state, params)
    state = gymnax_space_invaders.step_aliens(state)
    state, reward = gymnax_space_invaders.step_shoot(state, params)
    # A cleared wave respawns (6 columns) and, while ramping, moves one tick faster.
    cleared = jnp.count_nonzero(state.alien_map) == 0
    faster = jnp.logical_and(cleared, jnp.logical_and(state.ramping,
                                                      state.enemy_move_interval > 6))
    wave = state.alien_map.at[FIRST_WAVE_ROWS, WAVE_COLUMNS].set(True)
    state = state.replace(
        shot_timer=state.shot_timer - (state.shot_timer > 0),
        alien_move_timer=state.alien_move_timer - 1,
        alien_shot_timer=state.alien_shot_timer - 1,
        enemy_move_interval=state.enemy_move_interval - faster,
        ramp_index=state.ramp_index + faster,
        alien_map=jnp.where(cleared, wave, state.alien_map),
        time=state.time + 1)
    done = self.is_terminal(state, params)
    state = state.replace(terminal=done)
    obs = jax.lax.stop_gradient(self.get_obs(state))
    return (obs, jax.lax.stop_gradient(state), reward.astype(jnp.float32), done,
            {"discount": 1 - done})


def make_space_invaders_paper():
  """(env, params) for `TaskSpec.make_env`."""
  env = SpaceInvadersPaper()
  return env, env.default_params
