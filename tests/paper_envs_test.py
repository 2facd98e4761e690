"""The paper's inverted double pendulum (brax 0.9.4 reward and termination) on today's physics."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brax import envs as brax_envs

from conftest import REFERENCE_DIR
from hades import dataset as dataset_lib
from hades import evaluation
from hades import paper_envs
from hades import tasks

IDP_FILE = os.path.join(REFERENCE_DIR, "brax_inverted_double_pendulum_D64_distill_seed0.npz")
POLE = 0.6  # Length of each pole (m).


@pytest.fixture(scope="module")
def envs():
  """(paper env, today's env, jitted step from a pose (cart x, hinge, hinge2) at rest)."""
  paper = brax_envs.get_environment(paper_envs.PAPER_IDP_NAME, backend="positional")
  today = brax_envs.get_environment("inverted_double_pendulum", backend="positional")
  template = jax.jit(paper.reset)(jax.random.key(0))

  def step_from(env):
    @jax.jit
    def fn(q):
      pipeline_state = env.pipeline_init(q, jnp.zeros(3))
      state = template.replace(pipeline_state=pipeline_state, obs=env._get_obs(pipeline_state))
      return env.step(state, jnp.zeros(1))
    return fn

  return step_from(paper), step_from(today)


def _paper_reward_from_angles(state):
  """The 0.9.4 reward, computed from the joint angles: its 'tip' is 0.6 m straight above the top
  of the first pole (x = cart + 0.6 sin(hinge), z = 0.6 cos(hinge) + 0.6), bonus always paid.
  The positional pipeline's joints are stiff springs, so body positions and joint angles agree
  to a few mm only: compare with atol=1e-2."""
  q, qd = np.asarray(state.pipeline_state.q), np.asarray(state.pipeline_state.qd)
  x = q[0] + POLE * np.sin(q[1])
  z = POLE * np.cos(q[1]) + POLE
  return 10.0 - 0.01 * x**2 - (z - 2.0) ** 2 - 1e-3 * qd[1] ** 2 - 5e-3 * qd[2] ** 2, z


def test_registered_and_a_task():
  assert isinstance(brax_envs.get_environment(paper_envs.PAPER_IDP_NAME, backend="positional"),
                    paper_envs.InvertedDoublePendulumPaper)
  assert tasks.resolve_task("inverted_double_pendulum_paper") == paper_envs.PAPER_IDP_NAME
  assert tasks.resolve_task("idp") == "inverted_double_pendulum"  # Today's env stays.
  assert tasks.env_sizes("inverted_double_pendulum_paper") == (8, 1)


def test_second_pole_down_ends_today_but_not_in_the_paper(envs):
  paper_step, today_step = envs
  # First pole upright, second horizontal: the real tip is at 0.6 m (<= 1: today's env ends the
  # episode); 0.9.4's unrotated offset puts its 'tip' at 1.2 m (the paper's episode goes on).
  q = jnp.array([0.0, 0.0, np.pi / 2])
  paper, today = paper_step(q), today_step(q)
  assert float(today.done) == 1.0
  assert float(paper.done) == 0.0
  # Same physics and observation; only reward and done differ.
  np.testing.assert_array_equal(paper.obs, today.obs)
  np.testing.assert_array_equal(paper.pipeline_state.q, today.pipeline_state.q)
  expected, z = _paper_reward_from_angles(paper)
  assert z > 1.19
  np.testing.assert_allclose(float(paper.reward), expected, atol=1e-2)
  assert float(paper.reward) > float(today.reward) + 9.0  # Alive bonus and the higher 'tip'.


def test_paper_pays_the_alive_bonus_on_the_terminating_step(envs):
  paper_step, today_step = envs
  # First pole tilted past ~48 degrees (0.6 cos(0.9) + 0.6 = 0.97 <= 1): both versions end.
  q = jnp.array([0.1, 0.9, -0.9])
  paper, today = paper_step(q), today_step(q)
  assert float(paper.done) == 1.0 and float(today.done) == 1.0
  expected, z = _paper_reward_from_angles(paper)
  assert z <= 1.0
  np.testing.assert_allclose(float(paper.reward), expected, atol=1e-2)
  # Second pole vertical here, so both tips coincide; the difference is the bonus alone.
  np.testing.assert_allclose(float(paper.reward) - float(today.reward), 10.0, atol=2e-2)


def test_upright_both_agree(envs):
  paper_step, today_step = envs
  q = jnp.array([0.0, 0.01, -0.01])
  paper, today = paper_step(q), today_step(q)
  assert float(paper.done) == 0.0 and float(today.done) == 0.0
  np.testing.assert_allclose(float(paper.reward), float(today.reward), atol=1e-3)
  np.testing.assert_allclose(float(paper.reward), 10.0 - 0.8**2, atol=1e-2)


@pytest.mark.skipif(not os.path.isfile(IDP_FILE), reason="paper datasets not available")
def test_released_idp_file_loads_as_the_paper_variant():
  dataset, info = dataset_lib.load(IDP_FILE)
  assert (info.task, info.normalization) == ("inverted_double_pendulum_paper", "running")
  obs_size, act_size = tasks.env_sizes(info.task)
  dataset_lib.check_fits(dataset, obs_size, act_size)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isfile(IDP_FILE), reason="paper datasets not available")
def test_released_idp_file_scores_its_training_fitness():
  with np.load(IDP_FILE) as data:
    training = float(data["fitness_over_gen"][-1])  # Population mean, last generation (~9250).
  result = evaluation.evaluate_dataset_file(IDP_FILE, num_students=4)
  assert result["task"] == "inverted_double_pendulum_paper"
  assert result["return_mean"] >= 0.9 * training, (result["return_mean"], training)
