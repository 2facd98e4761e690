import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades import policy as policy_lib
from hades import rollout


def test_running_stats_match_batch_statistics():
  rng = np.random.default_rng(0)
  batches = [rng.normal(3.0, 2.0, size=(4, 5)).astype(np.float32) for _ in range(6)]
  stats = rollout.RunningStats.create(5)
  for b in batches:
    stats = stats.update(jnp.asarray(b))
  allobs = np.concatenate(batches)
  # The prior (mean 0, var 1, count 1e-4) is negligible after 24 observations.
  np.testing.assert_allclose(stats.mean, allobs.mean(0), rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(stats.var, allobs.var(0), rtol=1e-3)
  np.testing.assert_allclose(stats.count, 24 + 1e-4, rtol=1e-6)


def test_fitness_defined_when_no_episode_finishes():
  none = rollout.EvalResult(jnp.array(0.0), jnp.array(0.0), jnp.array(0.0), jnp.array(42.0))
  assert float(none.fitness) == 42.0
  some = rollout.EvalResult(jnp.array(30.0), jnp.array(500.0), jnp.array(2.0), jnp.array(1.0))
  assert float(some.fitness) == 15.0


@pytest.fixture(scope="module")
def hopper_policy():
  policy = policy_lib.make_policy(3, width=8, depth=1)
  return policy, policy.init(jax.random.key(0), jnp.zeros((11,)))


def test_short_hopper_evaluation_uses_partial_return(hopper_env, hopper_policy):
  policy, params = hopper_policy
  evaluate = jax.jit(rollout.make_evaluate(hopper_env, policy, num_envs=2, num_steps=10))
  result = evaluate(params, jax.random.key(0))
  assert float(result.num_episodes) == 0.0  # Hopper cannot fall within 10 steps.
  assert np.isfinite(float(result.fitness)) and float(result.fitness) > 0
  assert float(result.fitness) == pytest.approx(float(result.partial_return))


def test_normalization_modes_change_what_the_policy_sees():
  """The modes are the same code for every env; Pendulum (continuous actions, a Gaussian policy
  as for Brax) compiles each of the four programs in seconds."""
  from hades import tasks

  env = tasks.make_env("pendulum")
  policy = policy_lib.make_policy(1, width=8, depth=1)
  params = policy.init(jax.random.key(0), jnp.zeros((3,)))
  # A policy whose actions depend strongly on observations, so normalisation matters.
  params = jax.tree.map(lambda x: x * 50.0 if x.ndim == 2 else x, params)
  kw = dict(num_envs=2, num_steps=30, deterministic=True)
  key = jax.random.key(3)
  fit = {}
  for mode, extra in [("none", {}), ("running", {}),
                      ("constant", dict(obs_mean=np.zeros(3), obs_var=np.ones(3))),
                      ("constant_shift", dict(obs_mean=np.full(3, 5.0), obs_var=np.ones(3)))]:
    evaluate = rollout.make_evaluate(env, policy, normalization=mode.replace("_shift", ""),
                                     **kw, **extra)
    fit[mode] = float(jax.jit(evaluate)(params, key).partial_return)
  # Constant mode with (0, 1) statistics is the identity, up to the 1e-8 epsilon.
  assert fit["constant"] == pytest.approx(fit["none"], rel=1e-4)
  assert fit["constant_shift"] != pytest.approx(fit["none"], rel=1e-4)
  assert fit["running"] != pytest.approx(fit["none"], rel=1e-4)
  with pytest.raises(ValueError, match="needs obs_mean"):
    rollout.make_evaluate(env, policy, 1, 1, normalization="constant")
