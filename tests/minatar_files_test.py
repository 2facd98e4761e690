"""The authors' released MinAtar datasets, fixed initialisations and student network."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REFERENCE_DIR

from hades import minatar_files
from hades.dataset import DatasetFileError

MINATAR_DIR = os.path.join(REFERENCE_DIR, "minatar")
FIXED_INIT_DIR = os.path.join(MINATAR_DIR, "fixed_init")


def _released(name):
  path = os.path.join(MINATAR_DIR, name)
  if not os.path.isfile(path):
    pytest.skip("shared reference files absent")
  return path


def test_load_breakout_distill():
  states, labels, info = minatar_files.load_released(
      _released("minatar_Breakout-MinAtar_D16_distill_seed0.npz"))
  assert states.shape == (15, 400) and states.dtype == np.float32
  assert labels.dtype == np.int32
  np.testing.assert_array_equal(labels, [0] * 5 + [1] * 5 + [2] * 5)
  assert info["n_actions"] == 3 and info["bc_steps"] == 64
  assert info["env_id"] == "Breakout-MinAtar" and info["variant"] == "distill"
  assert info["method"] == "HaDES-R" and info["fixed_init_seed"] is None
  assert info["seed"] == 0 and info["dataset_size"] == 16
  assert info["obs_mean"].shape == info["obs_var"].shape == (400,)


def test_load_overfit_and_special_bc_steps():
  _, labels, info = minatar_files.load_released(
      _released("minatar_SpaceInvaders-MinAtar_D16_overfit_seed1.npz"))
  assert len(labels) == 16 and info["fixed_init_seed"] == 421 and info["method"] == "HaDES-F"
  _, _, info = minatar_files.load_released(
      _released("minatar_Asterix-MinAtar_D16_distill_seed2.npz"))
  assert info["bc_steps"] == 32 and info["n_actions"] == 5


def _write(path, **arrays):
  np.savez(path, **arrays)
  return str(path)


def test_bad_files_raise(tmp_path):
  with pytest.raises(DatasetFileError, match="not found"):
    minatar_files.load_released(str(tmp_path / "minatar_Breakout-MinAtar_D16_distill_seed0.npz"))
  garbage = tmp_path / "minatar_Breakout-MinAtar_D16_distill_seed1.npz"
  garbage.write_bytes(b"not a zip file")
  with pytest.raises(DatasetFileError):
    minatar_files.load_released(str(garbage))
  good = dict(states=np.zeros((4, 8), np.float32), labels=np.array([0, 1, 1, -1], np.int32),
              n_actions=np.int32(2), bc_steps=np.int32(64), fixed_init_seed=np.int32(-1),
              obs_mean=np.zeros(8, np.float32), obs_var=np.ones(8, np.float32))
  states, labels, _ = minatar_files.load_released(
      _write(tmp_path / "minatar_Toy-MinAtar_D4_distill_seed0.npz", **good))
  assert states.shape == (3, 8) and labels.tolist() == [0, 1, 1]
  with pytest.raises(DatasetFileError, match="named"):
    minatar_files.load_released(_write(tmp_path / "data.npz", **good))
  no_labels = {k: v for k, v in good.items() if k != "labels"}
  with pytest.raises(DatasetFileError, match="lacks"):
    minatar_files.load_released(
        _write(tmp_path / "minatar_Toy-MinAtar_D4_distill_seed1.npz", **no_labels))
  with pytest.raises(DatasetFileError, match="labels"):
    minatar_files.load_released(_write(tmp_path / "minatar_Toy-MinAtar_D4_distill_seed2.npz",
                                       **dict(good, labels=np.array([0, 1, 2, -1], np.int32))))
  with pytest.raises(DatasetFileError, match="obs_mean"):
    minatar_files.load_released(_write(tmp_path / "minatar_Toy-MinAtar_D4_distill_seed3.npz",
                                       **dict(good, obs_mean=np.zeros(7, np.float32))))
  with pytest.raises(DatasetFileError):
    minatar_files.load_fixed_init(_write(tmp_path / "init.npz", Dense_0_kernel=np.zeros((2, 2))))


def test_network_shapes():
  params = minatar_files.init_authors_student(0, obs_dim=400, num_actions=3, width=16)
  shapes = jax.tree.map(jnp.shape, params["params"])
  assert shapes == {"Dense_0": {"kernel": (400, 16), "bias": (16,)},
                    "Dense_1": {"kernel": (16, 16), "bias": (16,)},
                    "Dense_2": {"kernel": (16, 3), "bias": (3,)}}
  logits = minatar_files.AuthorsMinAtarMLP(3, 16).apply(params, jnp.zeros((5, 400)))
  assert logits.shape == (5, 3)


def test_fixed_init_load_and_reproduction():
  path = minatar_files.fixed_init_path(FIXED_INIT_DIR, "Breakout-MinAtar", 420)
  if not os.path.isfile(path):
    pytest.skip("shared reference files absent")
  params = minatar_files.load_fixed_init(path)["params"]
  assert sorted(params) == ["Dense_0", "Dense_1", "Dense_2"]
  assert params["Dense_0"]["kernel"].shape == (400, 512)
  assert params["Dense_2"]["kernel"].shape == (512, 3)
  # With the authors' (non-partitionable) threefry stream today's flax derives their weights.
  assert minatar_files.authors_student_init_matches("Breakout-MinAtar", 0, FIXED_INIT_DIR)
  diffs = minatar_files.compare_student_init(path, 420, partitionable=False)
  assert max(diffs.values()) < 1e-5
