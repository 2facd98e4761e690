import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades import bc
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import policy as policy_lib
from hades import rollout
from hades.errors import ConfigError

OBS, ACT, D = 5, 2, 3


def _fake_evaluate(params, key):
  """A cheap stand-in for Brax: 'return' = sum of the first-layer kernel + key noise."""
  value = jnp.sum(params["params"]["Dense_0"]["kernel"]) + jax.random.uniform(key)
  zero = jnp.zeros(())
  return rollout.EvalResult(zero, zero, zero, value)


@pytest.fixture(scope="module")
def parts():
  policy = policy_lib.make_policy(ACT, width=8, depth=1)
  init = policy_lib.make_init_params(policy, OBS)
  train = bc.make_bc_train(policy, num_steps=3)
  return init, train


def _population(P, key):
  ks, ka = jax.random.split(key)
  return dataset_lib.SyntheticDataset(jax.random.normal(ks, (P, D, OBS)),
                                      jax.random.normal(ka, (P, D, ACT)))


def test_identical_candidates_get_identical_fitness(parts):
  """Common random numbers: the same dataset scores the same within a generation."""
  init, train = parts
  fit = jax.jit(fitness_lib.make_population_fitness(init, train, _fake_evaluate, "R", 2))
  pop = _population(1, jax.random.key(0))
  pop = jax.tree.map(lambda x: jnp.concatenate([x, x, x]), pop)
  f, aux = fit(pop, jax.random.key(1))
  assert f.shape == (3,) and aux.bc_loss.shape == (3,)
  np.testing.assert_allclose(f, f[0])


def _noiseless_evaluate(params, key):
  """'Return' = sum of the first-layer kernel: depends on the student, never on the key."""
  del key
  value = jnp.sum(params["params"]["Dense_0"]["kernel"])
  zero = jnp.zeros(())
  return rollout.EvalResult(zero, zero, zero, value)


def test_hades_r_students_change_every_generation_hades_f_do_not(parts):
  init, train = parts
  pop = _population(2, jax.random.key(0))

  # HaDES-R: with a key-independent evaluation, two generations score the same datasets
  # differently only if they trained different (fresh) student inits.
  random_fit = fitness_lib.make_population_fitness(init, train, _noiseless_evaluate, "R", 2)
  f1, _ = random_fit(pop, jax.random.key(1))
  f2, _ = random_fit(pop, jax.random.key(2))
  assert not np.any(np.isclose(f1, f2))
  # Within a generation the students differ from each other too: the mean over 2 students is
  # not the score of either one alone.
  one_student = fitness_lib.make_population_fitness(init, train, _noiseless_evaluate, "R", 1)
  g1, _ = one_student(pop, jax.random.key(1))
  assert not np.allclose(f1, g1)

  # HaDES-F uses exactly the fixed params, whatever the generation key.
  fixed = init(jax.random.split(jax.random.key(4), 1))
  fixed_fit = fitness_lib.make_population_fitness(init, train, _noiseless_evaluate, "F", 1)
  h1, _ = fixed_fit(pop, jax.random.key(1), fixed)
  h2, _ = fixed_fit(pop, jax.random.key(2), fixed)
  np.testing.assert_array_equal(h1, h2)
  trained, _ = jax.vmap(train, in_axes=(None, 0))(jax.tree.map(lambda x: x[0], fixed), pop)
  expected = jax.vmap(lambda p: _noiseless_evaluate(p, None).fitness)(trained)
  np.testing.assert_allclose(h1, expected, rtol=1e-5)


def test_student_reduce_min_is_the_worst_student():
  """student_reduce='min' scores a candidate by its worst student, 'mean' by their mean: with
  students whose returns are known (student i returns 10 * i + the dataset's first state, for
  any key), candidate d scores exactly 10 + x_d ('mean') and x_d ('min')."""

  def init(keys):  # Student i's params are i, whatever its key.
    return {"i": jnp.arange(keys.shape[0], dtype=jnp.float32)}

  def train(params, dataset):  # "Training" reads the dataset's first state into the student.
    return {"i": params["i"], "x": dataset.states[0, 0]}, jnp.zeros(())

  def evaluate(params, key):
    del key
    zero = jnp.zeros(())
    return rollout.EvalResult(zero, zero, zero, 10.0 * params["i"] + params["x"])

  pop = _population(4, jax.random.key(0))
  first_states = np.asarray(pop.states[:, 0, 0])
  for reduce, offset in (("mean", 10.0), ("min", 0.0)):
    fit = jax.jit(fitness_lib.make_population_fitness(init, train, evaluate, "R", 3, reduce))
    for key in (3, 4):
      np.testing.assert_allclose(fit(pop, jax.random.key(key))[0], first_states + offset,
                                 rtol=1e-6)
  with pytest.raises(ConfigError, match="student_reduce"):
    fitness_lib.make_population_fitness(init, train, evaluate, "R", 3, "median")


def test_mode_validation():
  assert fitness_lib.resolve_mode("R") == "random"
  assert fitness_lib.resolve_mode("F") == "fixed"
  with pytest.raises(ConfigError, match="unknown HaDES mode"):
    fitness_lib.resolve_mode("Q")


def test_summarize_averages_students_not_pooled_episodes():
  # Student 0: two episodes (10, 20); student 1: one episode (100).
  results = rollout.EvalResult(np.array([30.0, 100.0]), np.array([500.0, 10000.0]),
                               np.array([2.0, 1.0]), np.array([0.0, 0.0]))
  s = fitness_lib.summarize(results)
  assert s["episodes"] == 3
  assert s["per_student"] == [15.0, 100.0]
  assert s["return_mean"] == pytest.approx(57.5) and s["return_std"] == pytest.approx(42.5)
  assert s["episode_return_mean"] == pytest.approx(130.0 / 3)
  assert s["episode_return_std"] == pytest.approx(np.sqrt(10500.0 / 3 - (130.0 / 3) ** 2))
