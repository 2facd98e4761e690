"""Validation of the ES mean (best-validated dataset) and the ES schedules, on a toy problem."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import conftest
from hades import dataset as dataset_lib
from hades import distill
from hades import strategy as strategy_lib
from hades import validation as validation_lib
from hades.errors import ConfigError


def _distance(dataset):
  return (jnp.sum((dataset.states - conftest.TARGET_STATES) ** 2)
          + jnp.sum((dataset.actions - conftest.TARGET_ACTIONS) ** 2))


def _validated_components(every, generations, lr=0.05, noise=0.0, **es):
  """Toy components whose validation score is minus the mean's distance to the target (plus
  key-dependent noise when `noise` > 0)."""
  components = conftest.toy_components(lr=lr)
  if es:
    strategy, params = strategy_lib.make_strategy(conftest.toy_es_config(lr=lr, **es),
                                                  dataset_lib.zeros(2, 3, 1))
    components = dataclasses.replace(components, strategy=strategy, es_params=params)
  unravel = components.unflatten

  def score(flat_mean, key):
    return -_distance(unravel(flat_mean)) + noise * jax.random.normal(key)

  validation = validation_lib.Validation(score, every, generations, num_students=1)
  return dataclasses.replace(components, validation=validation)


def _run_stepwise(components, generations):
  """Runs one generation per call; returns the final state, the ES mean after each generation
  and the metrics of each."""
  step = distill.make_distill_run(distill.make_distill_step(components), 1)
  state = distill.init_state(components, seed=0)
  means, rows = [], []
  for _ in range(generations):
    state, metrics = step(state)
    means.append(np.asarray(state.es_state.mean))
    rows.append({k: float(v[0]) for k, v in metrics.items()})
  return state, means, rows


def test_validates_every_k_generations_and_the_last():
  components = _validated_components(every=4, generations=10)
  _, _, rows = _run_stepwise(components, 10)
  validated = [g + 1 for g, r in enumerate(rows) if np.isfinite(r["validation/return"])]
  assert validated == [4, 8, 10]


def test_keeps_the_best_validated_mean_and_its_generation():
  """A learning rate too large for the toy problem makes the mean overshoot and swing: the
  validated returns go up and down, the best-validated one never decreases, and the state holds
  exactly the mean of the generation that reached it."""
  generations = 40
  components = _validated_components(every=2, generations=generations, lr=0.3)
  state, means, rows = _run_stepwise(components, generations)
  returns = np.array([r["validation/return"] for r in rows])
  best = np.array([r["validation/best"] for r in rows])
  validated = np.isfinite(returns)
  assert np.any(np.diff(returns[validated]) < 0), "toy run should swing; test is not probing"
  assert np.all(np.diff(best[validated]) >= 0)
  g = int(state.validation.best_generation)
  assert float(state.validation.best_return) == np.max(returns[validated])
  assert returns[g - 1] == float(state.validation.best_return)
  np.testing.assert_array_equal(np.asarray(state.validation.best_mean), means[g - 1])
  dataset = distill.validated_dataset(components, state)
  np.testing.assert_array_equal(
      np.concatenate([np.ravel(dataset.states), np.ravel(dataset.actions)]), means[g - 1])
  # Where a validation came out worse than an earlier one, a run stopping there still hands
  # back the better mean: the result does not depend on where the run stopped.
  dropped = [i for i in np.flatnonzero(validated)[1:] if returns[i] < best[i - 1]]
  assert dropped and all(best[i] > returns[i] for i in dropped)


def test_non_finite_validation_never_becomes_best():
  components = _validated_components(every=1, generations=3)
  components = dataclasses.replace(components, validation=dataclasses.replace(
      components.validation, score=lambda flat, key: jnp.float32(jnp.nan)))
  state, _, rows = _run_stepwise(components, 3)
  assert int(state.validation.best_generation) == 0
  assert distill.validated_dataset(components, state) is None
  assert all(np.isnan(r["validation/return"]) for r in rows)


def test_validation_uses_its_own_fixed_key():
  """The validation key is the same at every validation and apart from the run's fitness keys;
  validation does not change the ES trajectory."""
  seen = []
  components = _validated_components(every=1, generations=4, noise=1.0)
  score = components.validation.score

  def recording_score(flat, key):
    jax.debug.callback(lambda k: seen.append(np.asarray(k)), jax.random.key_data(key))
    return score(flat, key)

  fitness_keys = []
  fitness = components.population_fitness

  def recording_fitness(genomes, key, fixed_params=None):
    jax.debug.callback(lambda k: fitness_keys.append(np.asarray(k)), jax.random.key_data(key))
    return fitness(genomes, key, fixed_params)

  with_validation = dataclasses.replace(
      components, population_fitness=recording_fitness,
      validation=dataclasses.replace(components.validation, score=recording_score))
  state, means, _ = _run_stepwise(with_validation, 4)
  assert len(seen) == 4 and all(np.array_equal(k, seen[0]) for k in seen)
  # The keys the run's fitness actually used: one per generation, all different, none the
  # validation's.
  assert len(fitness_keys) == 4
  assert len({k.tobytes() for k in fitness_keys}) == 4
  assert not any(np.array_equal(seen[0], k) for k in fitness_keys)
  _, plain_means, _ = _run_stepwise(conftest.toy_components(), 4)
  np.testing.assert_array_equal(means[-1], plain_means[-1])


def test_validation_off_writes_the_final_mean():
  components = _validated_components(every=0, generations=5)
  state, _, rows = _run_stepwise(components, 5)
  assert all(np.isnan(r["validation/return"]) for r in rows)
  assert distill.validated_dataset(components, state) is None


def test_sigma_and_learning_rate_decay_per_generation_to_their_limits():
  components = _validated_components(every=0, generations=30, sigma=0.1, sigma_decay=0.9,
                                     sigma_limit=0.05, lr_decay=0.5, lr_limit=0.01)
  _, _, rows = _run_stepwise(components, 30)
  sigma = np.array([r["es/sigma"] for r in rows])
  # evosax sets the next generation's sigma at tell (generation counter g -> schedule(g)).
  expected = np.maximum(0.1 * 0.9 ** np.arange(30), 0.05)
  np.testing.assert_allclose(sigma, expected, rtol=1e-5)
  schedule = strategy_lib.decay_schedule(0.05, 0.5, 0.01, "lr")
  np.testing.assert_allclose([schedule(g) for g in (0, 1, 2, 10)], [0.05, 0.025, 0.0125, 0.01])
  assert strategy_lib.decay_schedule(0.05, 1.0, 0.0, "lr")(1000) == pytest.approx(0.05)


@pytest.mark.parametrize("es,message", [
    (dict(sigma_decay=1.5), "sigma_decay must be in"),
    (dict(lr_decay=0.0), "lr_decay must be in"),
    (dict(lr_decay=0.9, lr_limit=1.0), "lr_limit must be in"),
    (dict(strategy="SNES", sigma_decay=0.99), "adapts its own sigma"),
])
def test_bad_schedules_are_config_errors(es, message):
  with pytest.raises(ConfigError, match=message):
    strategy_lib.make_strategy(conftest.toy_es_config(**es), dataset_lib.zeros(2, 3, 1))


def test_bad_validation_settings_are_config_errors():
  with pytest.raises(ConfigError, match="every_generations must be >= 0"):
    validation_lib.make_validation(None, None, None, None, -1, 10, 8)
  with pytest.raises(ConfigError, match="num_students must be >= 1"):
    validation_lib.make_validation(None, None, None, None, 5, 10, 0)
  with pytest.raises(ConfigError, match="std_penalty must be >= 0"):
    validation_lib.make_validation(None, None, None, None, 5, 10, 8, std_penalty=-1.0)


def test_std_penalty_prefers_the_dataset_every_student_learns():
  """Two candidate means: A trains 3 students well and lets one fall over (mean 1700, std ~346),
  B trains all 4 nearly as well (mean 1600, std 0). Ranked by mean, A is kept; with the default
  penalty of one std, B is, and the metrics report mean, std and score of each."""
  a, b = jnp.zeros(3), jnp.ones(3)
  by_mean = {0: jnp.array([1900.0, 1900.0, 1900.0, 1100.0]), 1: jnp.full(4, 1600.0)}

  def kept(penalty):
    validation = validation_lib.Validation(lambda flat, key: by_mean[int(flat[0])], 1, 2, 4,
                                           penalty)
    update = validation_lib.make_validation_update(validation)
    vstate = validation_lib.init_validation_state(0, a)
    rows = []
    for generation, mean in enumerate((a, b), 1):
      # Python control flow in `score` needs concrete means: run the update eagerly.
      with jax.disable_jit():
        vstate, metrics = update(vstate, mean, jnp.asarray(generation))
      rows.append({k: float(v) for k, v in metrics.items()})
    return vstate, rows

  vstate, rows = kept(0.0)
  assert int(vstate.best_generation) == 1 and float(vstate.best_return) == 1700.0
  vstate, rows = kept(1.0)
  assert int(vstate.best_generation) == 2 and float(vstate.best_return) == 1600.0
  assert rows[0]["validation/std"] == pytest.approx(np.std([1900.0] * 3 + [1100.0]))
  assert rows[0]["validation/score"] == pytest.approx(1700.0 - rows[0]["validation/std"])
  assert rows[1]["validation/best"] == 1600.0 and rows[1]["validation/best_return"] == 1600.0


def test_adam_follows_the_learning_rate_schedule():
  """The ES optimiser's step shrinks with the schedule (Adam's step is ~lr per coordinate)."""
  components = _validated_components(every=0, generations=20, lr_decay=0.8, lr_limit=0.0)
  step = distill.make_distill_run(distill.make_distill_step(components), 1)
  state = distill.init_state(components, seed=0)
  moves = []
  for _ in range(20):
    before = np.asarray(state.es_state.mean)
    state, _ = step(state)
    moves.append(np.max(np.abs(np.asarray(state.es_state.mean) - before)))
  assert moves[-1] < 0.1 * moves[0]
