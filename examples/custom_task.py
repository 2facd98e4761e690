"""A task of your own, distilled without editing hades: a point mass that must reach a goal.

The environment is written from scratch in pure JAX with gymnax's `Environment` API (reset_env,
step_env, spaces); registering it makes `examples.custom_task:point_mass` a task for every
launcher and for the Python API:

  python -m launch.distill --task=examples.custom_task:point_mass --workdir=runs/mine
  python -m launch.evaluate --dataset=runs/mine/point_mass/dataset.npz

Run from the repository root (or put the folder holding `examples/` on PYTHONPATH).
"""

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from hades import tasks


@struct.dataclass
class State(environment.EnvState):
  position: jax.Array  # [2]
  velocity: jax.Array  # [2]
  goal: jax.Array  # [2]


@struct.dataclass
class Params(environment.EnvParams):
  max_steps_in_episode: int = 100
  dt: float = 0.1
  max_force: float = 1.0
  damping: float = 0.9


class PointMass(environment.Environment):
  """A damped point mass in [-2, 2]^2 pushed by a force [2] in [-1, 1]^2; reward: minus the
  distance to a random goal, every step. Observation [6]: position, velocity, goal - position."""

  @property
  def default_params(self) -> Params:
    return Params()

  def reset_env(self, key, params):
    start_key, goal_key = jax.random.split(key)
    state = State(time=0, position=jax.random.uniform(start_key, (2,), minval=-1, maxval=1),
                  velocity=jnp.zeros(2), goal=jax.random.uniform(goal_key, (2,), minval=-1,
                                                                 maxval=1))
    return self.get_obs(state), state

  def step_env(self, key, state, action, params):
    force = jnp.clip(action, -params.max_force, params.max_force)
    velocity = params.damping * state.velocity + params.dt * force
    position = jnp.clip(state.position + params.dt * velocity, -2.0, 2.0)
    state = State(time=state.time + 1, position=position, velocity=velocity, goal=state.goal)
    reward = -jnp.linalg.norm(state.goal - position)
    return self.get_obs(state), state, reward, jnp.array(False), {}

  def get_obs(self, state, params=None, key=None):
    return jnp.concatenate([state.position, state.velocity, state.goal - state.position])

  def observation_space(self, params):
    return spaces.Box(-4.0, 4.0, (6,), jnp.float32)

  def action_space(self, params):
    return spaces.Box(-params.max_force, params.max_force, (2,), jnp.float32)


def make_point_mass():
  env = PointMass()
  return env, env.default_params


tasks.register_task(tasks.TaskSpec(
    "point_mass", family="gymnax", make_env=make_point_mass, bc_steps=100, episode_length=0,
    preset_groups=(),  # None of the config files' presets: they were tuned for other tasks.
    # What suits this task on a CPU (the command line still wins): observations of order 1
    # need no normalisation; two 100-step episodes in each of 2 envs per student.
    defaults=(("dataset.size", 4), ("dataset.normalization", "none"),
              ("es.num_generations", 60), ("eval.num_envs", 2), ("eval.num_steps", 200),
              ("final_eval.num_steps", 200))))
