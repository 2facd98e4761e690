"""Brax environments as the paper (brax 0.9.4) defined them, on today's physics pipelines.

The paper's released datasets were distilled against brax 0.9.4. Between 0.9.4 and the brax we
run (0.14), `inverted_double_pendulum` changed its reward and termination; a dataset that scores
near the maximum (~9300 per 1000 steps) in 0.9.4 scores ~650 in today's env. This module
defines `InvertedDoublePendulumPaper` and registers it with Brax as
`inverted_double_pendulum_paper` (once, when the module is imported). Physics, observation,
reset noise, action handling and timestep are today's `InvertedDoublePendulum`; only `step`'s
reward and termination follow 0.9.4:

* Tip height. Both versions end the episode when the "tip" height is <= 1 and penalise
  `0.01 x_tip^2 + (z_tip - 2)^2`. Today the tip is the real end of the second pole: the 0.6 m
  offset is rotated by the second pole's orientation (`x2.do(offset)`). 0.9.4 applied the
  transforms the other way round (`offset.do(x2)`), which adds the 0.6 m offset to the second
  pole's *base* (the hinge between the poles) without rotating it: the "tip" is always 0.6 m
  straight above the top of the first pole. So in 0.9.4 the episode ends only when the first
  pole tilts past ~48 degrees (0.6 cos(theta1) <= 0.4); the second pole's angle never ends an
  episode, and the distance penalty sees only the first pole.
* Alive bonus. 0.9.4 pays the bonus of 10 on every step, the terminating one included; today's
  env pays it only when the step does not terminate.

With both, a balanced pendulum earns 10 - (1.2 - 2)^2 = 9.36 per step in either version, but
the paper's students were only ever asked to keep the first pole up.
"""

from __future__ import annotations

# First: brax imports MuJoCo, which prints notices without its GPU backend.
from hades import quiet_mujoco  # noqa: F401

import jax
import jax.numpy as jnp
from brax import envs as brax_envs
from brax.envs import inverted_double_pendulum as brax_idp

PAPER_IDP_NAME = "inverted_double_pendulum_paper"

_POLE2 = 2  # Link index of the second pole (cart 0, pole 1, pole2 2).
_TIP_OFFSET = 0.6  # Length of the second pole (m).
_ALIVE_BONUS = 10.0
_DONE_HEIGHT = 1.0


def paper_tip(pole2_pos: jax.Array) -> jax.Array:
  """0.9.4's tip position: the second pole's base raised by 0.6 m, the offset *not* rotated."""
  return pole2_pos + jnp.array([0.0, 0.0, _TIP_OFFSET])


def paper_reward_and_done(tip: jax.Array, qd: jax.Array) -> tuple[jax.Array, jax.Array]:
  """0.9.4's reward (alive bonus paid on every step) and done flag for a tip position."""
  x, z = tip[0], tip[2]
  dist_penalty = 0.01 * jnp.square(x) + jnp.square(z - 2.0)
  vel_penalty = 1e-3 * jnp.square(qd[1]) + 5e-3 * jnp.square(qd[2])
  reward = _ALIVE_BONUS - dist_penalty - vel_penalty
  done = (z <= _DONE_HEIGHT).astype(jnp.float32)
  return reward, done


class InvertedDoublePendulumPaper(brax_idp.InvertedDoublePendulum):
  """Today's `InvertedDoublePendulum` with brax 0.9.4's termination and reward (see module doc)."""

  def step(self, state: brax_envs.State, action: jax.Array) -> brax_envs.State:
    pipeline_state = self.pipeline_step(state.pipeline_state, action)
    tip = paper_tip(pipeline_state.x.pos[_POLE2])
    reward, done = paper_reward_and_done(tip, pipeline_state.qd)
    return state.replace(pipeline_state=pipeline_state, obs=self._get_obs(pipeline_state),
                         reward=reward, done=done)


brax_envs.register_environment(PAPER_IDP_NAME, InvertedDoublePendulumPaper)
