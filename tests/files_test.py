"""Result files: written atomically, and a truncated one refused with its name."""

import json
import os

import numpy as np
import pytest

from hades import dataset as dataset_lib
from hades import files
from hades import neuroevolution
from hades.errors import InputError


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
  path = tmp_path / "summary.json"
  files.write_json(str(path), {"return_mean": 1.0})
  with pytest.raises(RuntimeError):
    with files.atomic_path(str(path)) as tmp:
      with open(tmp, "w") as f:
        f.write('{"return_me')  # Killed mid-write: here, an exception.
      raise RuntimeError("interrupted")
  assert json.loads(path.read_text()) == {"return_mean": 1.0}
  assert os.listdir(tmp_path) == ["summary.json"]


def test_atomic_files_keep_their_extension_and_usual_permissions(tmp_path):
  umask = os.umask(0o022)
  try:
    with files.atomic_path(str(tmp_path / "d.npz")) as tmp:
      assert tmp.endswith(".npz") and os.path.dirname(tmp) == str(tmp_path)
      np.savez(tmp, x=np.arange(3))
  finally:
    os.umask(umask)
  assert os.stat(tmp_path / "d.npz").st_mode & 0o777 == 0o644
  with np.load(tmp_path / "d.npz") as f:
    np.testing.assert_array_equal(f["x"], [0, 1, 2])


def _truncated(path, text):
  path.write_text(text[: len(text) // 2])
  return str(path)


def test_truncated_json_results_are_refused_naming_the_file(tmp_path):
  path = _truncated(tmp_path / "summary.json", json.dumps({"return_mean": 1.0, "n": 2}))
  with pytest.raises(InputError, match="cannot read .*summary.json"):
    files.read_json(path)
  config_dir = tmp_path / "run"
  config_dir.mkdir()
  _truncated(config_dir / "config.json", json.dumps({"task": "hopper", "seed": 0}))
  with pytest.raises(InputError, match="config.json"):
    files.read_config_json(str(config_dir))
  assert files.read_config_json(str(tmp_path / "none")) is None


def test_metrics_rows_skip_only_a_torn_last_line(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"generation": 1}\n{"generation": 2}\n{"generation": 3, "fit')
  assert files.read_jsonl(str(path)) == [{"generation": 1}, {"generation": 2}]
  path.write_text('{"generation": 1}\n{"gener\n{"generation": 3}\n')
  with pytest.raises(InputError, match="metrics.jsonl: line 2"):
    files.read_jsonl(str(path))


def test_truncated_npz_results_are_refused_naming_the_file(tmp_path):
  dataset = dataset_lib.zeros(2, 3, 1)
  info = dataset_lib.DatasetInfo("hopper", normalization="none")
  whole = tmp_path / "dataset.npz"
  dataset_lib.save(str(whole), dataset, info)
  cut = tmp_path / "cut.npz"
  cut.write_bytes(whole.read_bytes()[:200])
  with pytest.raises(dataset_lib.DatasetFileError, match="cut.npz"):
    dataset_lib.load(str(cut))
  neuroevolution.save_policy(str(tmp_path / "policy.npz"), {"w": np.ones(3)})
  (tmp_path / "policy_cut.npz").write_bytes((tmp_path / "policy.npz").read_bytes()[:100])
  with pytest.raises(InputError, match="policy_cut.npz"):
    neuroevolution.load_policy(str(tmp_path / "policy_cut.npz"))
