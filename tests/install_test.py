"""The install is complete: every module imports, and every family builds its env or data source.

Run inside the virtualenv that `pip install -e '.[dev]'` made (as `.ci/run` does), this fails on
any dependency the code needs but `pyproject.toml` does not declare.
"""

import os
import subprocess
import sys
import tomllib

import numpy as np

import conftest

from hades import image_data
from hades import tasks

PACKAGES = ("hades", "multitask", "launch", "checkpoints")

# Imports every module of PACKAGES in one process. Each launcher defines its absl flags at
# import, so the flags a module defined are dropped before the next launcher is imported.
_IMPORT_ALL = """
import importlib, pkgutil, sys
from absl import flags
names = []
for package in sys.argv[1:]:
  names.append(package)
  names += [m.name for m in pkgutil.walk_packages(importlib.import_module(package).__path__,
                                                  package + ".")]
for name in names:
  before = set(flags.FLAGS)
  importlib.import_module(name)
  if name.startswith("launch."):
    for flag in set(flags.FLAGS) - before:
      delattr(flags.FLAGS, flag)
print(len(names), "modules")
"""


def test_every_module_imports():
  result = subprocess.run([sys.executable, "-c", _IMPORT_ALL, *PACKAGES], cwd=conftest.REPO,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  count = int(result.stdout.splitlines()[-1].split()[0])
  sources = sum(f.endswith(".py") for p in PACKAGES
                for _, _, files in os.walk(os.path.join(conftest.REPO, p)) for f in files)
  assert count >= sources, (count, sources)


def test_each_control_family_builds_an_env():
  import jax

  for task in ("cartpole", "breakout", "hopper"):  # gymnax, gymnax's MinAtar, Brax
    env = tasks.make_env(task)
    assert env.observation_size > 0 and env.action_size > 0, task
  cartpole = tasks.make_env("cartpole")
  state = cartpole.reset(jax.random.key(0))
  assert state.obs.shape == (cartpole.observation_size,)
  state = cartpole.step(state, np.int32(0))
  assert np.isfinite(float(state.reward))


def test_supervised_family_reads_its_data_source(tmp_path):
  directory = conftest.write_dataset_dir(tmp_path / "images")
  data = image_data.load(directory, validation_size=10)
  assert data.train_images.shape == (50, conftest.IMAGE_SIDE ** 2)
  assert data.test_images.shape == (40, conftest.IMAGE_SIDE ** 2)
  assert set(np.unique(data.train_labels)) == set(range(10))


def test_python_versions_in_readme_match_pyproject():
  with open(os.path.join(conftest.REPO, "pyproject.toml"), "rb") as f:
    requires = tomllib.load(f)["project"]["requires-python"]
  with open(os.path.join(conftest.REPO, "README.md")) as f:
    readme = f.read()
  assert f"Python {requires}" in readme, requires
