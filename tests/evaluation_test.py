"""The dataset scorer: what it compiles, and that splitting it changed no score."""

import jax
import numpy as np
import pytest

from hades import dataset as dataset_lib
from hades import evaluation
from hades import sharding

NUM_STEPS = 40


@pytest.fixture
def backend_compiles():
  """A list that gets one entry per XLA compilation while the test runs."""
  compiles = []

  def listen(event, duration, **kwargs):
    del duration, kwargs
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(event)

  jax.monitoring.register_event_duration_secs_listener(listen)
  yield compiles
  jax.monitoring.unregister_event_duration_listener(listen)


def _dataset(size, seed):
  rng = np.random.default_rng(seed)
  return dataset_lib.SyntheticDataset(rng.normal(size=(size, 4)).astype(np.float32),
                                      dataset_lib.fixed_labels(size, 2))


def test_rollouts_compile_once_for_every_dataset_size_and_placement(backend_compiles):
  info = dataset_lib.DatasetInfo("cartpole", labels="fixed")
  score = evaluation.make_dataset_scorer("cartpole", info, {"bc_steps": 5}, num_students=2,
                                         num_envs=2, num_steps=NUM_STEPS)
  first = score(_dataset(2, 0), seed=3)
  warm = len(backend_compiles)
  assert warm >= 2  # BC training and the rollouts (and a few small helpers).
  # The same dataset as a run's replicated device state: nothing new to compile, same score.
  on_devices = jax.device_put(_dataset(2, 0), sharding.replicated_sharding())
  again = score(on_devices, seed=3)
  assert len(backend_compiles) == warm
  assert again["per_student"] == first["per_student"]
  # Another size: only the BC training program is new.
  score(_dataset(6, 1), seed=3)
  assert len(backend_compiles) == warm + 1


def test_split_scorer_scores_like_training_and_evaluating_in_one_program():
  """make_dataset_scorer (two programs) gives the returns of `fitness.make_dataset_eval`
  (one program) for the same students and keys."""
  from hades import fitness as fitness_lib
  from hades import rollout
  from hades import student as student_lib
  from hades import tasks

  info = dataset_lib.DatasetInfo("cartpole", labels="fixed")
  student = evaluation.student_settings("cartpole", {"bc_steps": 5})
  score = evaluation.make_dataset_scorer("cartpole", info, student, num_students=3,
                                         num_envs=2, num_steps=NUM_STEPS)
  env = tasks.make_env("cartpole")
  built = student_lib.make_student(4, 2, student, tasks.make_head("cartpole", "fixed"))
  evaluate = rollout.make_evaluate(env, built.policy, 2, NUM_STEPS, "running",
                                   head=built.head)
  fused = jax.jit(fitness_lib.make_dataset_eval(built.init_params, built.train, evaluate, 3))
  dataset = _dataset(4, 2)
  results, _ = jax.device_get(fused(dataset, jax.random.key(7)))
  np.testing.assert_allclose(score(dataset, seed=7)["per_student"], results.fitness,
                             rtol=1e-5)
