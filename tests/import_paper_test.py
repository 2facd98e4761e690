"""The importer of the paper authors' result pickles (hades/paper_import.py and its launcher)."""

import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REFERENCE_DIR, REPO

from hades import dataset as dataset_lib
from hades import image_data
from hades import paper_import
from hades.errors import InputError

PICKLES_DIR = os.path.join(REFERENCE_DIR, "paper_pickles")
ICLR = os.path.join(PICKLES_DIR, "results", "ICLR")
# The seven sample pickles and the file each becomes.
SAMPLES = {
    "brax_walker2d_D4_distill_seed0.npz": "brax/distill/walker2d/D4/seed0",
    "brax_hopper_D64_distill_seed0.npz": "brax/no_virtual_batch_norm/distill/hopper/D64/seed0",
    "brax_halfcheetah_D64_overfit_seed0.npz":
        "brax/no_virtual_batch_norm/overfit/halfcheetah/D64/seed0",
    "brax_sweepD_hopper_D4_distill_seed0.npz":
        "sweep_D/brax/no_virtual_batch_norm/distill/hopper/D4/seed0",
    "minatar_Breakout-MinAtar_D16_distill_seed0.npz":
        "minatar/virtual_batch_norm/distill/Breakout-MinAtar/D16/greedy_actFalse/seed0",
    "minatar_SpaceInvaders-MinAtar_D16_overfit_seed0.npz":
        "minatar/virtual_batch_norm/overfit/SpaceInvaders-MinAtar/D16/greedy_actFalse/seed0",
    "mnist_FashionMNIST_D10_distill_seed0.npz": "mnist/FashionMNIST/D10/seed0",
}
# The samples with a released reference .npz (the importer must reproduce every array of it).
WITH_REFERENCE = [n for n in SAMPLES if not n.startswith(("mnist_", "brax_halfcheetah"))]
needs_pickles = pytest.mark.skipif(not os.path.isdir(PICKLES_DIR),
                                   reason="shared paper pickles absent")


def _pickle(name):
  return os.path.join(ICLR, SAMPLES[name], "data_final.pkl")


def _reference(name):
  for folder in (REFERENCE_DIR, os.path.join(REFERENCE_DIR, "minatar")):
    if os.path.isfile(os.path.join(folder, name)):
      return os.path.join(folder, name)
  pytest.skip(f"reference {name} absent")


def _run(*args):
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  return subprocess.run([sys.executable, "-m", "launch.import_paper", *args], cwd=REPO,
                        env=env, capture_output=True, text=True, timeout=600)


def _errors(result):
  return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
  """The launcher run once on the shared samples: (out folder, its result)."""
  if not os.path.isdir(PICKLES_DIR):
    pytest.skip("shared paper pickles absent")
  out = tmp_path_factory.mktemp("imported") / "out"
  result = _run(f"--results={PICKLES_DIR}", f"--out={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  return out, result


def _load(out, name):
  with np.load(out / name, allow_pickle=False) as data:
    return {k: data[k] for k in data.files}


def test_launcher_writes_one_line_per_file(converted):
  out, result = converted
  lines = result.stdout.splitlines()
  assert sorted(os.listdir(out)) == sorted(SAMPLES)
  assert len(lines) == len(SAMPLES)
  for name, sub in SAMPLES.items():
    line = next(line for line in lines if line.startswith(str(out / name) + " "))
    assert os.path.join(sub, "data_final.pkl") in line


@pytest.mark.parametrize("name", WITH_REFERENCE)
def test_converted_file_equals_reference_array_for_array(converted, name):
  out, _ = converted
  ours = _load(out, name)
  with np.load(_reference(name), allow_pickle=False) as reference:
    assert len(reference.files) >= 9
    for key in reference.files:
      assert key in ours, f"{name} lacks {key}"
      assert ours[key].dtype == reference[key].dtype, key
      assert np.array_equal(ours[key], reference[key]), f"{name}: {key} differs"


@needs_pickles
@pytest.mark.parametrize("name", list(SAMPLES))
def test_keeps_config_and_fitness_curves(converted, name):
  out, _ = converted
  arrays = _load(out, name)
  record = paper_import.read_pickle(_pickle(name))
  config = json.loads(str(arrays["config_json"]))
  es_config = json.loads(str(arrays["es_config_json"]))
  assert config["SEED"] == record["config"]["SEED"] == 0
  assert config["OVERFIT"] == ("overfit" in name)
  assert es_config == record["es_config"]
  generations = es_config["n_generations"]
  curve = np.array([float(v) for v in record["fitness_over_gen"]], np.float32)
  assert arrays["fitness_over_gen"].shape == (generations,)
  np.testing.assert_array_equal(arrays["fitness_over_gen"], curve)
  if name.startswith("mnist_"):
    assert "max_fitness_over_gen" not in arrays and config["DATASET"] == "FashionMNIST"
    assert abs(float(arrays["authors_train_accuracy"]) - 0.8124) < 1e-3
  else:
    np.testing.assert_array_equal(
        arrays["max_fitness_over_gen"],
        np.array([float(v) for v in record["max_fitness_over_gen"]], np.float32))
    assert np.all(arrays["max_fitness_over_gen"] >= arrays["fitness_over_gen"])
  np.testing.assert_array_equal(arrays["flat_mean"], record["state"].mean)
  assert int(arrays["gen_counter"]) == generations
  assert int(arrays["fixed_init_seed"]) == (420 if "overfit" in name else -1)
  if "OBS_MEAN" in record["config"]:  # Constant normalisation: the run's own statistics.
    np.testing.assert_array_equal(np.asarray(config["OBS_MEAN"], np.float32).reshape(-1),
                                  arrays["obs_mean"])


@needs_pickles
def test_files_load_as_hades_datasets(converted):
  out, _ = converted
  expect = {"brax_walker2d_D4_distill_seed0.npz": ("walker2d", "constant", (4, 17), (4, 6)),
            "brax_hopper_D64_distill_seed0.npz": ("hopper", "running", (64, 11), (64, 3)),
            "brax_halfcheetah_D64_overfit_seed0.npz": ("halfcheetah", "running", (64, 17),
                                                       (64, 6)),
            "brax_sweepD_hopper_D4_distill_seed0.npz": ("hopper", "running", (4, 11), (4, 3)),
            "minatar_Breakout-MinAtar_D16_distill_seed0.npz": ("breakout", "constant",
                                                               (15, 400), (15, 3)),
            # Scored in the env it was made in, gymnax 0.0.6's SpaceInvaders.
            "minatar_SpaceInvaders-MinAtar_D16_overfit_seed0.npz": ("space_invaders_paper",
                                                                    "constant", (16, 600),
                                                                    (16, 4)),
            "mnist_FashionMNIST_D10_distill_seed0.npz": ("fashion_mnist", "none", (10, 784),
                                                         (10, 10))}
  for name, (task, normalization, states, actions) in expect.items():
    dataset, info = dataset_lib.load(str(out / name))
    assert (info.task, info.normalization) == (task, normalization), name
    assert dataset.states.shape == states and dataset.actions.shape == actions, name
  _, info = dataset_lib.load(str(out / "minatar_SpaceInvaders-MinAtar_D16_overfit_seed0.npz"))
  assert info.fixed_init == 420 and info.labels == "fixed" and info.student["bc_steps"] == 64
  dataset, info = dataset_lib.load(str(out / "mnist_FashionMNIST_D10_distill_seed0.npz"))
  assert info.labels == "fixed" and info.data_dir == image_data.DEFAULT_DIR
  np.testing.assert_array_equal(dataset.actions, np.eye(10))  # One image per class, in order.


@needs_pickles
def test_brax_layout_is_actions_then_states(converted):
  out, _ = converted
  arrays = _load(out, "brax_halfcheetah_D64_overfit_seed0.npz")
  flat = arrays["flat_mean"]
  np.testing.assert_array_equal(arrays["actions"].reshape(-1), flat[:64 * 6])
  np.testing.assert_array_equal(arrays["states"].reshape(-1), flat[64 * 6:])
  np.testing.assert_array_equal(arrays["best_actions"].reshape(-1),
                                arrays["flat_best_member"][:64 * 6])


@needs_pickles
def test_fashion_mnist_images_are_the_images_not_offsets(converted):
  """state.mean holds the images (warm-started at the class means, then evolved), row-major in
  class order: each is nearest its own class's mean training image, the transposed reading is
  much farther."""
  try:
    train, labels, _, _ = image_data.read_directory(image_data.DEFAULT_DIR)
  except InputError:
    pytest.skip("FashionMNIST files absent")
  out, _ = converted
  states = _load(out, "mnist_FashionMNIST_D10_distill_seed0.npz")["states"]
  means = image_data.class_means(train, labels, 10)
  distance = ((states[:, None] - means[None]) ** 2).sum(-1)
  np.testing.assert_array_equal(distance.argmin(1), np.arange(10))
  transposed = states.reshape(10, 28, 28).transpose(0, 2, 1).reshape(10, 784)
  assert np.mean((transposed - means) ** 2) > 2 * np.mean((states - means) ** 2)


class Evil:
  """Not a class the importer may build."""


@pytest.mark.parametrize("payload,refused", [
    (pickle.dumps({"state": Evil()}), "Evil"),
    (pickle.dumps({"config": os.system}), "system"),
    (b"cbuiltins\neval\n.", "builtins.eval"),
    (b"cevosax.strategies.cma_es\nEvoState\n.", "evosax.strategies.cma_es.EvoState"),
    (b"cnumpy._core.multiarray\n_reconstruct\n.", "numpy._core.multiarray._reconstruct"),
    (b"cantigravity\nfly\n.", "antigravity.fly"),
])
def test_refuses_forbidden_globals_without_importing_them(tmp_path, payload, refused):
  path = tmp_path / "data_final.pkl"
  path.write_bytes(payload)
  with pytest.raises(InputError, match="refused global") as error:
    paper_import.read_pickle(str(path))
  assert str(path) in str(error.value) and refused in str(error.value)
  assert "antigravity" not in sys.modules


def test_not_a_record_and_corrupt_files_are_input_errors(tmp_path):
  path = tmp_path / "data_final.pkl"
  path.write_bytes(pickle.dumps([1, 2, 3]))
  with pytest.raises(InputError, match="not a run's record"):
    paper_import.read_pickle(str(path))
  path.write_bytes(b"\x80\x04\x95garbage")
  with pytest.raises(InputError, match="cannot read"):
    paper_import.read_pickle(str(path))


@needs_pickles
def test_runs_without_a_dataset_are_skipped_and_name_clashes_refused(tmp_path):
  record = paper_import.read_pickle(_pickle("brax_hopper_D64_distill_seed0.npz"))
  del record["es_config"]["dataset_size"]  # As the authors' ES-on-weights baselines.
  assert paper_import.convert(record, "x/data_final.pkl") is None
  for run in ("a", "b"):  # Two copies of one run would write one file twice.
    os.makedirs(tmp_path / run)
    shutil.copy(_pickle("brax_hopper_D64_distill_seed0.npz"), tmp_path / run)
  with pytest.raises(InputError, match="would both become brax_hopper_D64_distill_seed0.npz"):
    paper_import.plan(str(tmp_path))


@needs_pickles
def test_launcher_refuses_to_overwrite_unless_asked(converted):
  out, _ = converted
  target = out / "brax_hopper_D64_distill_seed0.npz"
  before = target.stat().st_mtime_ns
  result = _run(f"--results={PICKLES_DIR}", f"--out={out}")
  assert result.returncode == 2, result.stderr[-2000:]
  errors = _errors(result)
  assert len(errors) == 1 and "--overwrite" in errors[0] and "exists" in errors[0]
  assert "Traceback" not in result.stderr and result.stdout == ""
  assert target.stat().st_mtime_ns == before
  result = _run(f"--results={os.path.join(ICLR, 'brax')}", f"--out={out}", "--overwrite")
  assert result.returncode == 0, result.stderr[-2000:]
  assert len(result.stdout.splitlines()) == 3 and target.stat().st_mtime_ns != before


def test_launcher_bad_input_is_one_error_line_exit_2(tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  result = _run(f"--results={empty}", f"--out={tmp_path / 'out'}")
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert _errors(result) == [f"error: no data_final.pkl under {empty}"]
  evil = tmp_path / "evil" / "seed0"
  evil.mkdir(parents=True)
  (evil / "data_final.pkl").write_bytes(b"cbuiltins\nexec\n.")
  result = _run(f"--results={tmp_path / 'evil'}", f"--out={tmp_path / 'out'}")
  assert result.returncode == 2 and "Traceback" not in result.stderr
  errors = _errors(result)
  assert len(errors) == 1 and "refused global builtins.exec" in errors[0]
  assert not (tmp_path / "out").exists()
