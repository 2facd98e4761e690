"""Shared test fixtures: tiny configs and compiled functions reused across test modules."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hades import sharding  # noqa: E402

sharding.request_exact_cpu_math()  # As the launchers do, before any test starts the backend.

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
