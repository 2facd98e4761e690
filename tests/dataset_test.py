import os

import numpy as np
import pytest

from hades import dataset as dataset_lib


def test_zeros_has_requested_shapes():
  d = dataset_lib.zeros(16, 11, 3)
  assert d.states.shape == (16, 11) and d.actions.shape == (16, 3) and d.size == 16
  assert float(np.abs(d.states).sum() + np.abs(d.actions).sum()) == 0.0
  with pytest.raises(ValueError, match="dataset size must be >= 1"):
    dataset_lib.zeros(0, 11, 3)


def test_save_load_roundtrip_keeps_arrays_and_metadata(tmp_path):
  rng = np.random.default_rng(0)
  d = dataset_lib.SyntheticDataset(rng.normal(size=(4, 11)).astype(np.float32),
                                   rng.normal(size=(4, 3)).astype(np.float32))
  info = dataset_lib.DatasetInfo("hopper", "positional", "constant",
                                 obs_mean=np.arange(11.0), obs_var=np.ones(11), source="test")
  path = str(tmp_path / "sub" / "dataset.npz")
  dataset_lib.save(path, d, info, best_states=np.zeros((4, 11)))
  loaded, loaded_info = dataset_lib.load(path)
  np.testing.assert_array_equal(loaded.states, d.states)
  np.testing.assert_array_equal(loaded.actions, d.actions)
  assert (loaded_info.task, loaded_info.normalization) == ("hopper", "constant")
  np.testing.assert_array_equal(loaded_info.obs_mean, np.arange(11.0))
  assert os.listdir(tmp_path / "sub") == ["dataset.npz"]  # No temporary files left behind.
  _, overridden = dataset_lib.load(path, normalization="running")
  assert overridden.normalization == "running"


def test_reference_file_names_infer_normalization(tmp_path):
  arrays = dict(states=np.zeros((4, 11), np.float32), actions=np.zeros((4, 3), np.float32),
                obs_mean=np.zeros(11), obs_var=np.ones(11))
  expected = {"brax_hopper_D4_distill_seed0.npz": ("hopper", "constant"),
              "brax_hopper_D64_distill_seed1.npz": ("hopper", "running"),
              "brax_sweepD_hopper_D4_distill_seed2.npz": ("hopper", "running"),
              "brax_inverted_double_pendulum_D64_distill_seed0.npz":
                  ("inverted_double_pendulum_paper", "running")}
  for name, (task, mode) in expected.items():
    np.savez(tmp_path / name, **arrays)
    _, info = dataset_lib.load(str(tmp_path / name))
    assert (info.task, info.normalization) == (task, mode), name
  # A workdir entry linking to a paper file (how multitask uses the released datasets).
  (tmp_path / "walker2d").mkdir()
  link = tmp_path / "walker2d" / "dataset.npz"
  np.savez(tmp_path / "brax_walker2d_D4_distill_seed0.npz", **dict(
      arrays, states=np.zeros((4, 17), np.float32), actions=np.zeros((4, 6), np.float32),
      obs_mean=np.zeros(17), obs_var=np.ones(17)))
  link.symlink_to(tmp_path / "brax_walker2d_D4_distill_seed0.npz")
  _, info = dataset_lib.load(str(link))
  assert (info.task, info.normalization) == ("walker2d", "constant")


def test_bad_files_raise_dataset_file_error(tmp_path):
  with pytest.raises(dataset_lib.DatasetFileError, match="not found"):
    dataset_lib.load(str(tmp_path / "missing.npz"))
  corrupt = tmp_path / "corrupt.npz"
  corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
  with pytest.raises(dataset_lib.DatasetFileError, match="cannot read"):
    dataset_lib.load(str(corrupt))
  np.savez(tmp_path / "nostates.npz", actions=np.zeros((2, 3)))
  with pytest.raises(dataset_lib.DatasetFileError, match="no 'states'"):
    dataset_lib.load(str(tmp_path / "nostates.npz"))
  np.savez(tmp_path / "nan.npz", states=np.full((2, 11), np.nan), actions=np.zeros((2, 3)),
           task=np.array("hopper"))
  with pytest.raises(dataset_lib.DatasetFileError, match="NaN"):
    dataset_lib.load(str(tmp_path / "nan.npz"))


def test_check_fits_rejects_wrong_dims():
  d = dataset_lib.zeros(4, 17, 6)
  dataset_lib.check_fits(d, 17, 6)
  with pytest.raises(dataset_lib.DatasetFileError, match="obs size 11"):
    dataset_lib.check_fits(d, 11, 3)
