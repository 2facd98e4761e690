"""The generation step and the ES strategies, on a toy problem with a known optimum."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import conftest
from hades import config as config_lib
from hades import dataset as dataset_lib
from hades import distill
from hades import strategy as strategy_lib
from hades import validation as validation_lib
from hades.errors import ConfigError

TARGET_STATES, TARGET_ACTIONS = conftest.TARGET_STATES, conftest.TARGET_ACTIONS
_es_config, _toy_components = conftest.toy_es_config, conftest.toy_components


def _distance(dataset):
  return float(jnp.sum((dataset.states - TARGET_STATES) ** 2)
               + jnp.sum((dataset.actions - TARGET_ACTIONS) ** 2))


def _run(components, generations=150):
  state = distill.init_state(components, seed=0)
  run = distill.make_distill_run(distill.make_distill_step(components), generations)
  state, metrics = run(state)
  return distill.mean_dataset(components, state), metrics, state


def test_es_maximises_fitness_on_a_toy_problem():
  """evosax minimises; the distiller must hand it -fitness so the ES climbs the return."""
  start = _distance(dataset_lib.zeros(2, 3, 1))
  mean, metrics, _ = _run(_toy_components())
  assert _distance(mean) < 0.05 * start
  assert metrics["fitness/mean"][-1] > metrics["fitness/mean"][0]
  assert float(metrics["fitness/best"][-1]) >= float(np.max(metrics["fitness/max"])) - 1e-6


@pytest.mark.parametrize("name", strategy_lib.strategy_names())
def test_every_accepted_strategy_improves_on_the_start(name):
  """Each distribution-based evosax strategy that make_strategy builds runs the generation step
  (traced, scanned, sharded) and finds candidates better than the all-zero start."""
  components = _toy_components(strategy=name, popsize=16, lr=0.05, sigma=0.1)
  start_fitness = -_distance(dataset_lib.zeros(2, 3, 1))
  _, metrics, state = _run(components, generations=60)
  assert np.all(np.isfinite(metrics["fitness/mean"])), name
  assert float(metrics["fitness/best"][-1]) > start_fitness + 0.01, name
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.es_state)
             if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)), name


def test_strategies_hades_cannot_build_are_config_errors():
  template = dataset_lib.zeros(2, 3, 1)
  with pytest.raises(ConfigError, match="needs arguments hades does not supply"):
    strategy_lib.make_strategy(_es_config("RandomSearch"), template)
  with pytest.raises(ConfigError, match="surrogate gradient"):
    strategy_lib.make_strategy(_es_config("GuidedES"), template)
  assert not {"RandomSearch", "GuidedES"} & set(strategy_lib.strategy_names())
  assert {"Open_ES", "SNES", "CMA_ES", "PGPE"} <= set(strategy_lib.strategy_names())


@pytest.mark.parametrize("name", ["Open_ES", "PGPE", "CR_FM_NES", "NoiseReuseES"])
def test_odd_population_is_a_config_error_not_an_assertion(name):
  with pytest.raises(ConfigError, match="must be even"):
    strategy_lib.make_strategy(_es_config(name, popsize=7), dataset_lib.zeros(2, 3, 1))


def test_nan_candidates_rank_worst_and_are_counted():
  mean, metrics, _ = _run(_toy_components(nan_half=True))
  np.testing.assert_array_equal(metrics["fitness/nonfinite"], 16)
  assert np.all(np.isfinite(metrics["fitness/mean"]))
  # The BC loss is averaged over the finite candidates only (all of which report 2).
  np.testing.assert_array_equal(metrics["bc_loss/mean"], 2.0)
  assert _distance(mean) < 0.05 * float(jnp.sum(TARGET_STATES**2))


@pytest.mark.parametrize("name", strategy_lib.strategy_names())
def test_one_nan_candidate_per_generation_never_poisons_any_strategy(name):
  """Every strategy hades accepts, 30 generations with one NaN candidate each: the ES mean and
  its metrics stay finite (the NaN candidate is scored as the generation's worst; a huge
  stand-in made ARS, ASEBO, NoiseReuseES and PersistentES NaN)."""
  components = _toy_components(name, popsize=16, nan_one=True)
  state = distill.init_state(components, seed=0)
  state, metrics = distill.make_distill_run(distill.make_distill_step(components), 30)(state)
  assert np.all(np.isfinite(np.asarray(state.es_state.mean))), name
  np.testing.assert_array_equal(metrics["fitness/nonfinite"], 1)
  assert np.all(np.isfinite(metrics["fitness/mean"]))


def test_a_population_that_makes_lm_ma_es_nan_is_a_config_error():
  with pytest.raises(ConfigError, match="c_c exceeds 2"):
    strategy_lib.make_strategy(_es_config("LM_MA_ES", popsize=32), dataset_lib.zeros(2, 3, 1))


def test_run_is_traced_once():
  components = _toy_components()
  state = distill.init_state(components, seed=0)
  run = distill.make_distill_run(distill.make_distill_step(components), 2)
  for _ in range(3):
    state, _ = run(state)
  assert run._cache_size() == 1
  assert int(state.generation) == 6


def test_initial_state_is_typed_without_tracing_the_students():
  """Typing a state (`init_state`, resumes) must not trace the candidates' or the validation's
  students (~20 s for a Brax task on CPU), yet give exactly the types the real generation
  returns, so that the jitted run is traced once."""
  traces = []
  components = _toy_components()
  fitness = components.population_fitness

  def counted_fitness(datasets, key, fixed_params):
    traces.append("candidates")
    return fitness(datasets, key, fixed_params)

  def score(flat_mean, key):
    traces.append("validation")
    return -jnp.sum(flat_mean ** 2) + jnp.zeros((3,))

  components = dataclasses.replace(
      components, population_fitness=counted_fitness,
      validation=validation_lib.Validation(score, every=2, num_generations=6, num_students=3))
  first = distill.init_state(components, 0)
  second = distill.canonicalize_state(components, distill.init_state(components, 1))
  assert traces == []
  real = jax.eval_shape(distill.make_distill_step(components), first)[0]
  for x, y in zip(jax.tree.leaves(first), jax.tree.leaves(real)):
    assert (x.shape, x.dtype) == (y.shape, y.dtype)
    assert getattr(jax.typeof(x), "weak_type", False) == getattr(y, "weak_type", False)
  assert not np.array_equal(jax.random.key_data(first.key), jax.random.key_data(second.key))
  run = distill.make_distill_run(distill.make_distill_step(components), 2)
  for _ in range(3):
    second, metrics = run(second)
  assert run._cache_size() == 1
  assert int(second.generation) == 6
  assert np.isfinite(metrics["validation/return"][-1])


def test_host_calls_cover_the_generations_with_one_remainder():
  assert distill.plan_host_calls(0, 100, 8) == [8] * 12 + [4]
  assert distill.plan_host_calls(0, 7, 10) == [7]
  assert distill.plan_host_calls(0, 13, 5) == [5, 5, 3]  # Not 13 calls of one generation.
  assert distill.plan_host_calls(10, 13, 5) == [3]
  assert distill.plan_host_calls(13, 13, 5) == []


def test_chunked_generations_equal_one_scan():
  """Calls of 5 + 3 generations give the same state as one call of 8."""
  components = _toy_components()
  step = distill.make_distill_step(components)
  a, _ = distill.make_distill_run(step, 8)(distill.init_state(components, 0))
  b = distill.init_state(components, 0)
  for n in distill.plan_host_calls(0, 8, 5):
    b, _ = distill.make_distill_run(step, n)(b)
  for x, y in zip(jax.tree.leaves(a.es_state), jax.tree.leaves(b.es_state)):
    np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("override,message", [
    ({"task": "hoper"}, "unknown task"),
    ({"es.strategy": "NoSuchES"}, "unknown ES strategy"),
    ({"es.strategy": "SimpleGA"}, "population-based"),
    ({"es.population_size": 7}, "must be even"),
    ({"es.population_size": 0}, "population size must be >= 1"),
    ({"dataset.size": 0}, "dataset size must be >= 1"),
    ({"dataset.normalization": "zscore"}, "unknown normalization"),
    ({"dataset.normalization": "constant"}, "obs_stats"),
    ({"hades.mode": "X"}, "unknown HaDES mode"),
    ({"hades.mode": "F", "hades.num_students": 2}, "HaDES-F trains one fixed student"),
    ({"hades.student_reduce": "median"}, "unknown hades.student_reduce"),
    ({"hades.fitness_width": -1}, "fitness_width must be >= 0"),
    ({"hades.mode": "F", "hades.num_students": 1, "hades.fitness_width": 4}, "needs HaDES-R"),
    ({"method": "params", "hades.fitness_width": 4}, "needs HaDES-R"),
    ({"env.backend": "physx"}, "unknown Brax backend"),
    ({"eval.num_steps": 0}, "eval.num_steps"),
    ({"student.activation": "sigmoid"}, "unknown activation"),
])
def test_bad_configs_are_config_errors(override, message):
  config = conftest.tiny_config(**override)
  with pytest.raises(ConfigError, match=message):
    distill.build(config_lib.resolve_config(config))
