"""Shared test fixtures: tiny configs and compiled functions reused across test modules."""

import gzip
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hades import sharding  # noqa: E402

sharding.request_exact_cpu_math()  # As the launchers do, before any test starts the backend.

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Launchers run by the tests (subprocesses) cache their compiled programs here, not in the
# user's ~/.cache/hades/jax (set after jax is imported: the tests' own process is unaffected).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(REPO, ".pytest_cache", "hades-jax-cache"))
REFERENCE_DIR = os.path.join(os.path.dirname(REPO), "shared", "reference")


def pytest_addoption(parser):
  parser.addoption("--run-slow", action="store_true", default=False,
                   help="also run end-to-end tests marked slow (minutes)")


def pytest_collection_modifyitems(config, items):
  if config.getoption("--run-slow"):
    return
  skip = pytest.mark.skip(reason="slow end-to-end test; run with --run-slow")
  for item in items:
    if "slow" in item.keywords:
      item.add_marker(skip)


def tiny_config(task="hopper", **overrides):
  """The default config shrunk to seconds: tiny population, student and horizon."""
  from hades.configs import default

  config = default.get_config()
  config.task = task
  config.dataset.size = 4
  config.es.population_size = 4
  config.es.num_generations = 2
  config.student.width = 8
  config.student.bc_steps = 5
  config.eval.num_envs = 1
  config.eval.num_steps = 20
  config.final_eval.num_students = 2
  config.final_eval.num_envs = 1
  config.final_eval.num_steps = 20
  config.log.generations_per_call = 1
  config.task_presets = {}
  for key, value in overrides.items():
    node = config
    *path, leaf = key.split(".")
    for p in path:
      node = node[p]
    node[leaf] = value
  return config


@pytest.fixture(scope="session")
def hopper_env():
  from hades import tasks

  return tasks.make_env("hopper")


# A toy problem with a known optimum for the generation step and the ES (no env, no student).
# NumPy constants: importing conftest must not start the XLA backend.
TARGET_STATES = np.linspace(-0.3, 0.3, 6, dtype=np.float32).reshape(2, 3)
TARGET_ACTIONS = np.array([[0.2], [-0.1]], np.float32)


def toy_es_config(strategy="Open_ES", popsize=32, lr=0.05, sigma=0.03, **schedules):
  """The ES settings for the toy problem (schedules constant unless given)."""
  from hades import strategy as strategy_lib

  return strategy_lib.EsSettings(strategy=strategy, population_size=popsize, sigma=sigma,
                                 learning_rate=lr, antithetic=True, **schedules)


def toy_components(strategy="Open_ES", popsize=32, nan_half=False, lr=0.05, sigma=0.03,
                   nan_one=False):
  import jax.numpy as jnp

  from hades import dataset as dataset_lib
  from hades import distill
  from hades import fitness as fitness_lib
  from hades import methods
  from hades import policy as policy_lib
  from hades import strategy as strategy_lib

  """Toy distillation components (distill_test, validation_test): D=2, obs 3, act 1.

  Their 'fitness' is minus the squared distance to a known dataset (NaN for every other
  candidate with nan_half, for the first of each generation with nan_one); every candidate
  reports a BC loss of 2 (NaN where its fitness is NaN)."""
  template = dataset_lib.zeros(2, 3, 1)
  strategy_obj, params = strategy_lib.make_strategy(
      toy_es_config(strategy, popsize, lr, sigma), template)

  def population_fitness(datasets, key, fixed_params):
    del key, fixed_params
    f = -(jnp.sum((datasets.states - TARGET_STATES) ** 2, axis=(1, 2))
          + jnp.sum((datasets.actions - TARGET_ACTIONS) ** 2, axis=(1, 2)))
    if nan_half:
      f = f.at[::2].set(jnp.nan)
    if nan_one:
      f = f.at[0].set(jnp.nan)
    return f, fitness_lib.FitnessAux(jnp.zeros_like(f), jnp.where(jnp.isnan(f), jnp.nan, 2.0))

  return distill.Components(
      task="toy", obs_size=3, act_size=1, student=None, head=policy_lib.GaussianHead(),
      init_params=lambda keys: {"w": jnp.zeros((keys.shape[0], 1))},
      population_fitness=population_fitness, strategy=strategy_obj, es_params=params,
      layout=dataset_lib.make_layout(2, 3, 1), method=methods.METHODS["dataset"],
      info=None, env_steps_per_generation=0)


# IDX image files (the supervised family's data format) of a tiny synthetic problem.
IMAGE_SIDE = 4


def write_idx(path, array):
  """Writes `array` (uint8) as an IDX file, gzipped when `path` ends in .gz."""
  array = np.asarray(array, np.uint8)
  raw = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
  raw += array.tobytes()
  with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as f:
    f.write(raw)


def synthetic_images(n, seed, side=IMAGE_SIDE):
  """A separable 10-class problem: class c lights up its own pixel c (uint8 images
  [n, side, side], labels [n] = arange(n) % 10) over background noise."""
  rng = np.random.default_rng(seed)
  labels = np.arange(n) % 10
  images = rng.integers(0, 60, (n, side * side))
  images[np.arange(n), labels] = 255
  return images.reshape(n, side, side).astype(np.uint8), labels.astype(np.uint8)


def write_dataset_dir(directory, n_train=60, n_test=40, gz=True):
  os.makedirs(directory, exist_ok=True)
  ext = ".gz" if gz else ""
  for split, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
    images, labels = synthetic_images(n, seed)
    write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte{ext}"), images)
    write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte{ext}"), labels)
  return str(directory)


def save_task_datasets(directory, rng, tasks_=("hopper", "reacher")):
  """Random 3-pair datasets of `tasks_` as DIRECTORY/<task>/dataset.npz (a multitask workdir)."""
  from hades import dataset as dataset_lib
  from hades import tasks

  for task in tasks_:
    obs, act = tasks.env_sizes(task)
    data = dataset_lib.SyntheticDataset(rng.normal(size=(3, obs)).astype(np.float32),
                                        rng.uniform(-1, 1, size=(3, act)).astype(np.float32))
    dataset_lib.save(str(directory / task / "dataset.npz"), data, dataset_lib.DatasetInfo(task))
