import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import conftest
from hades import dataset as dataset_lib
from hades import distill

TARGET_STATES = jnp.linspace(-0.3, 0.3, 6).reshape(2, 3)
TARGET_ACTIONS = jnp.array([[0.2], [-0.1]])


def _toy_components(strategy="Open_ES", popsize=32, nan_half=False, lr=0.05):
  """Components whose 'fitness' is minus the squared distance to a known dataset."""
  template = dataset_lib.zeros(2, 3, 1)
  es = ml_collections.ConfigDict(dict(strategy=strategy, population_size=popsize, sigma=0.03,
                                      learning_rate=lr, antithetic=True))
  strategy_obj, params = distill.make_strategy(es, template)

  def population_fitness(datasets, key, fixed_params):
    del key, fixed_params
    f = -(jnp.sum((datasets.states - TARGET_STATES) ** 2, axis=(1, 2))
          + jnp.sum((datasets.actions - TARGET_ACTIONS) ** 2, axis=(1, 2)))
    if nan_half:
      f = f.at[::2].set(jnp.nan)
    aux = distill.fitness_lib.FitnessAux(jnp.zeros_like(f), jnp.zeros_like(f))
    return f, aux

  return distill.Components(
      task="toy", obs_size=3, act_size=1, env=None, policy=None,
      init_params=lambda keys: {"w": jnp.zeros((keys.shape[0], 1))}, bc_train=None,
      evaluate=None, population_fitness=population_fitness, strategy=strategy_obj,
      es_params=params, info=None, env_steps_per_generation=0)


def _run(components, generations=150):
  state = distill.init_state(components, seed=0)
  run = distill.make_distill_run(distill.make_distill_step(components), generations)
  state, metrics = run(state)
  return distill.mean_dataset(components, state), metrics, run


def test_es_maximises_fitness_on_a_toy_problem():
  """evosax minimises; the distiller must hand it -fitness so the ES climbs the return."""
  components = _toy_components()
  start = float(jnp.sum(TARGET_STATES**2) + jnp.sum(TARGET_ACTIONS**2))
  mean, metrics, _ = _run(components)
  final = float(jnp.sum((mean.states - TARGET_STATES) ** 2)
                + jnp.sum((mean.actions - TARGET_ACTIONS) ** 2))
  assert final < 0.05 * start
  assert metrics["fitness/mean"][-1] > metrics["fitness/mean"][0]
  assert float(metrics["fitness/best"][-1]) >= float(np.max(metrics["fitness/max"])) - 1e-6


def test_other_strategies_selectable_by_name():
  for name in ("SNES", "SimpleES", "CMA_ES"):
    components = _toy_components(strategy=name, popsize=16, lr=0.05)
    mean, metrics, _ = _run(components, generations=100)
    assert metrics["fitness/mean"][-1] > metrics["fitness/mean"][0], name


def test_nan_candidates_rank_worst_and_are_counted():
  components = _toy_components(nan_half=True)
  mean, metrics, _ = _run(components)
  np.testing.assert_array_equal(metrics["fitness/nonfinite"], 16)
  assert np.all(np.isfinite(metrics["fitness/mean"]))
  assert float(jnp.sum((mean.states - TARGET_STATES) ** 2)) < 0.05 * float(
      jnp.sum(TARGET_STATES**2))


def test_run_is_traced_once():
  components = _toy_components()
  state = distill.init_state(components, seed=0)
  run = distill.make_distill_run(distill.make_distill_step(components), 2)
  for _ in range(3):
    state, _ = run(state)
  assert run._cache_size() == 1
  assert int(state.generation) == 6


def test_chunk_size_divides_generations():
  assert distill.chunk_size(100, 8) == 5
  assert distill.chunk_size(7, 10) == 7
  assert distill.chunk_size(13, 5) == 1


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
    ({"env.backend": "physx"}, "unknown Brax backend"),
    ({"eval.num_steps": 0}, "eval.num_steps"),
])
def test_bad_configs_are_refused(override, message):
  config = conftest.tiny_config(**override)
  with pytest.raises(ValueError, match=message):
    distill.build(distill.resolve_config(config))


def test_task_overrides_and_task_defaults_apply():
  config = conftest.tiny_config(task="walker", **{"student.bc_steps": 0})
  config.task_overrides = ml_collections.ConfigDict({"walker2d": {"es": {"sigma": 0.1}}})
  resolved = distill.resolve_config(config)
  assert resolved.task == "walker2d" and resolved.es.sigma == 0.1
  assert resolved.student.bc_steps == 400
  fixed = distill.resolve_config(conftest.tiny_config(**{"hades.mode": "F"}))
  assert fixed.hades.mode == "fixed" and fixed.hades.num_students == 1


def test_config_differences_ignores_prefixes():
  a = {"es": {"num_generations": 10, "sigma": 0.03}, "log": {"x": 1}}
  b = {"es": {"num_generations": 20, "sigma": 0.05}, "log": {"x": 2}}
  assert distill.config_differences(a, b) == ["es.num_generations", "es.sigma", "log.x"]
  assert distill.config_differences(a, b, ignore=("es.num_generations", "log.")) == [
      "es.sigma"]
