"""The supervised family: IDX files, class means, the CNN student, the accuracy evaluator, a
tiny end-to-end distillation on a synthetic separable problem, configs and errors."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import conftest
from hades import config as config_lib
from hades import dataset as dataset_lib
from hades import distill
from hades import evaluation
from hades import image_data
from hades import student as student_lib
from hades import supervised
from hades import tasks
from hades.errors import ConfigError, DatasetFileError, InputError

SIDE = conftest.IMAGE_SIDE
write_idx = conftest.write_idx
synthetic_images = conftest.synthetic_images
write_dataset_dir = conftest.write_dataset_dir
FASHION_DIR = image_data.DEFAULT_DIR


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_read_idx_plain_and_gzipped(tmp_path, name):
  array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
  write_idx(tmp_path / name, array)
  out = image_data.read_idx(str(tmp_path / name))
  assert out.shape == (2, 3, 4) and out.dtype == np.uint8
  np.testing.assert_array_equal(out, array)


def test_malformed_idx_files_are_file_errors(tmp_path):
  (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
  with pytest.raises(DatasetFileError, match="bad magic"):
    image_data.read_idx(str(tmp_path / "bad"))
  write_idx(tmp_path / "short", np.zeros((4, 2, 2)))
  (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
  with pytest.raises(DatasetFileError, match="header says"):
    image_data.read_idx(str(tmp_path / "short"))
  (tmp_path / "notgz.gz").write_bytes(b"plain")
  with pytest.raises(DatasetFileError, match="cannot read"):
    image_data.read_idx(str(tmp_path / "notgz.gz"))
  with pytest.raises(DatasetFileError, match="cannot read"):
    image_data.read_idx(str(tmp_path / "missing"))


@pytest.mark.parametrize("gz", [True, False])
def test_load_splits_held_out_images_and_class_means(tmp_path, gz):
  directory = write_dataset_dir(tmp_path / "d", gz=gz)
  data = image_data.load(directory, validation_size=20)
  assert data.train_images.shape == (40, 16) and data.heldout_images.shape == (20, 16)
  assert data.test_images.shape == (40, 16) and data.num_classes == 10
  assert data.train_images.dtype == np.float32 and data.train_images.max() == 1.0
  images, labels = synthetic_images(60, 0)
  np.testing.assert_array_equal(data.heldout_labels, labels[40:])
  means = image_data.class_means(data.train_images, data.train_labels, 10)
  expected = [images[:40][labels[:40] == c].reshape(-1, 16).mean(0) / 255 for c in range(10)]
  np.testing.assert_allclose(means, expected, atol=1e-6)
  # Class-mean init in class order (k per class), random real images of the right class.
  start = image_data.initial_images(data, 2, "class_means")
  np.testing.assert_allclose(start, np.repeat(means, 2, axis=0))
  real = image_data.initial_images(data, 2, "random_real", seed=3)
  for i, row in enumerate(real):
    match = np.flatnonzero(np.all(data.train_images == row, axis=1))
    assert match.size and data.train_labels[match[0]] == i // 2
  assert not np.any(image_data.initial_images(data, 1, "noise"))
  with pytest.raises(ConfigError, match="data.init"):
    image_data.initial_images(data, 1, "blur")
  with pytest.raises(DatasetFileError, match="validation_size"):
    image_data.load(directory, validation_size=60)


class _Linear:
  """A fixed linear 'student': logits = x @ w."""

  def apply(self, params, x):
    return x @ params, jnp.zeros((params.shape[1],))


def test_accuracy_evaluator_counts_hits_and_cross_entropy():
  images = np.eye(4, dtype=np.float32)  # Image i lights pixel i.
  labels = np.array([0, 1, 2, 0])  # The last one is wrong for the identity map.
  w = 3.0 * np.eye(4, dtype=np.float32)
  accuracy, ce = jax.jit(supervised.make_scores(_Linear(), images, labels))(w, None)
  assert float(accuracy) == pytest.approx(0.75)
  logp = jax.nn.log_softmax(images @ w)
  assert float(ce) == pytest.approx(-float(np.mean(logp[np.arange(4), labels])), rel=1e-5)
  evaluate = supervised.make_evaluate(_Linear(), images, labels)
  result = evaluate(w, jax.random.key(0))
  assert float(result.fitness) == pytest.approx(0.75) and float(result.num_episodes) == 1
  minus_ce = supervised.make_evaluate(_Linear(), images, labels, metric="cross_entropy")
  assert float(minus_ce(w, jax.random.key(0)).fitness) == pytest.approx(-float(ce), rel=1e-5)
  # A batch of 2 drawn by the key: accuracy in {0, 0.5, 1}, reproducible per key.
  batched = jax.jit(supervised.make_evaluate(_Linear(), images, labels, batch_size=2))
  values = {float(batched(w, jax.random.key(k)).fitness) for k in range(8)}
  assert values <= {0.5, 1.0} and float(batched(w, jax.random.key(1)).fitness) == float(
      batched(w, jax.random.key(1)).fitness)
  with pytest.raises(ConfigError, match="data.metric"):
    supervised.make_evaluate(_Linear(), images, labels, metric="f1")


def test_cnn_student_keeps_the_student_contract_and_learns_with_sgd():
  paper = student_lib.StudentSettings.for_task(tasks.get_task("fashion_mnist"))
  assert (paper.optimizer, paper.learning_rate, paper.conv_channels) == ("sgd", 0.1, 16)
  settings = student_lib.StudentSettings.for_task(tasks.get_task("fashion_mnist"), dict(
      conv_channels=4, conv_stride=2, width=16, bc_steps=100, learning_rate=0.5))
  assert settings.optimizer == "sgd" and settings.width == 16
  student = student_lib.make_student(SIDE * SIDE, 10, settings,
                                     tasks.make_head("fashion_mnist", "fixed"))
  params = jax.tree.map(lambda x: x[0], student.init_params(jax.random.key(0)[None]))
  assert "log_std" not in params["params"]
  logits, log_std = student.policy.apply(params, jnp.zeros((2, 3, SIDE * SIDE)))
  assert logits.shape == (2, 3, 10) and log_std.shape == (10,) and not np.any(log_std)
  images, labels = synthetic_images(10, 0)
  data = supervised.labelled(images.reshape(10, -1) / 255.0, 10)
  trained, loss = jax.jit(student.train)(params, data)
  assert float(loss) < 0.5
  np.testing.assert_array_equal(np.argmax(student.policy.apply(trained, data.states)[0], -1),
                                labels)


def _tiny_supervised_config(directory, **overrides):
  values = {"task": "fashion_mnist", "data.dir": directory, "data.validation_size": 20,
            "data.fitness_batch": 0, "dataset.size": 10, "student.conv_channels": 2,
            "student.conv_stride": 2, "student.width": 16, "student.depth": 1,
            "student.activation": "relu", "student.optimizer": "sgd",
            "student.learning_rate": 0.1, "student.max_grad_norm": 0.0,
            "student.bc_steps": 30, "es.population_size": 16, "es.sigma": 0.3,
            "es.learning_rate": 0.1, "es.sigma_decay": 1.0, "es.lr_decay": 1.0,
            "es.sigma_limit": 0.0, "es.lr_limit": 0.0, "validation.every_generations": 0}
  values.update(overrides)
  return config_lib.resolve_config(conftest.tiny_config(), values)


def test_genome_is_an_offset_from_the_class_means(tmp_path):
  directory = write_dataset_dir(tmp_path / "d")
  components = distill.build(_tiny_supervised_config(directory))
  assert components.strategy.num_dims == 10 * 16  # Images only: labels are fixed.
  start = distill.zero_dataset(components)
  data = image_data.load(directory, 20)
  np.testing.assert_allclose(start.states, image_data.class_means(
      data.train_images, data.train_labels, 10), atol=1e-6)
  np.testing.assert_array_equal(start.actions, np.eye(10))
  assert components.info.data_dir == directory and components.info.normalization == "none"


def test_coarse_genome_is_upsampled_onto_the_class_means(tmp_path):
  """data.genome_upsample=2 on 4x4 images: the ES evolves 2x2 = 4 numbers per image, decoded
  by bilinear upsampling and added to the class means; constant grids stay constant."""
  directory = write_dataset_dir(tmp_path / "d")
  components = distill.build(_tiny_supervised_config(directory, **{"data.genome_upsample": 2}))
  assert components.strategy.num_dims == 10 * 4
  start = distill.zero_dataset(components)
  np.testing.assert_array_equal(start.states,
                                distill.build(_tiny_supervised_config(directory))
                                .layout.base.states)
  genome = jnp.full((3, 10 * 4), 0.25)  # A population of 3 flat genomes.
  datasets = jax.vmap(components.unravel)(genome)
  assert datasets.states.shape == (3, 10, SIDE * SIDE)
  np.testing.assert_allclose(datasets.states - start.states, 0.25, atol=1e-6)
  size, decode = supervised.make_upsample(16, 2)
  coarse = jnp.asarray([[0.0, 1.0, 0.0, 1.0]])  # Left column 0, right column 1.
  image = np.asarray(decode(coarse)).reshape(4, 4)
  assert size == 4 and np.all(image[:, 0] == 0) and np.all(image[:, -1] == 1)
  assert np.all(np.diff(image, axis=1) >= 0) and np.all(image == image[0])
  assert supervised.make_upsample(16, 1) is None  # Pixel by pixel: nothing to decode.
  for bad in (0, 3):
    with pytest.raises(ConfigError, match="genome_upsample"):
      supervised.make_upsample(16, bad)


@pytest.mark.slow
def test_tiny_distillation_beats_its_own_initialisation(tmp_path):
  """From all-zero images (init 'noise', chance accuracy) a few generations of HaDES find
  images whose students classify the synthetic test set better (~0.12 -> ~0.3)."""
  directory = write_dataset_dir(tmp_path / "d", n_train=80, n_test=100)
  config = _tiny_supervised_config(directory, **{
      "data.init": "noise", "es.num_generations": 8, "data.validation_size": 40,
      "student.optimizer": "adam", "student.learning_rate": 0.02, "student.conv_stride": 1,
      "student.conv_channels": 4, "student.width": 32, "es.sigma": 0.5,
      "es.learning_rate": 0.2})
  components = distill.build(config)
  state = distill.init_state(components, 0)
  state, metrics = distill.make_distill_run(distill.make_distill_step(components), 8)(state)
  assert np.all(np.isfinite(metrics["fitness/mean"]))
  score = evaluation.make_dataset_scorer("fashion_mnist", components.info,
                                         components.student, num_students=4)
  start = score(distill.zero_dataset(components), 1)["test_accuracy_mean"]
  final = score(distill.mean_dataset(components, state), 1)["test_accuracy_mean"]
  assert start <= 0.2 and final >= start + 0.1, (start, final)


def test_missing_data_files_are_one_input_error(tmp_path):
  with pytest.raises(InputError, match="no train-images-idx3-ubyte"):
    distill.build(_tiny_supervised_config(str(tmp_path)))
  with pytest.raises(ConfigError, match="multiple of the 10 classes"):
    distill.build(_tiny_supervised_config(write_dataset_dir(tmp_path / "d"),
                                          **{"dataset.size": 15}))
  with pytest.raises(ConfigError, match="no environment"):
    tasks.make_env("fashion_mnist")


def test_distill_launcher_reports_missing_data_in_one_line(tmp_path):
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  result = subprocess.run(
      [sys.executable, "-m", "launch.distill", "--task=fashion_mnist",
       f"--workdir={tmp_path / 'w'}", f"--config.data.dir={tmp_path / 'none'}"],
      cwd=conftest.REPO, env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and "no train-images-idx3-ubyte" in lines[0]
  assert "Traceback" not in result.stderr


def test_presets_give_the_cpu_and_paper_supervised_settings():
  from hades.configs import default, paper

  cpu = config_lib.resolve_config(default.get_config(), {"task": "fashion-mnist"})
  assert cpu.task == "fashion_mnist" and cpu.dataset.labels == "fixed"
  assert cpu.dataset.size == 10 and cpu.student.conv_channels > 0
  assert cpu.student.optimizer == "sgd" and cpu.data.dir == FASHION_DIR
  assert (cpu.student.bc_steps, cpu.es.num_generations, cpu.data.genome_upsample) == (200, 120, 2)
  assert (cpu.es.population_size, cpu.hades.num_students) == (64, 1)
  full = config_lib.resolve_config(paper.get_config(), {"task": "fashion_mnist",
                                                        "dataset.size": 100})
  assert (full.es.population_size, full.es.num_generations) == (512, 1000)
  assert (full.es.sigma, full.es.sigma_decay, full.es.learning_rate, full.es.lr_decay) == (
      0.02, 0.999, 0.01, 0.999)
  assert full.hades.num_students == 2 and full.dataset.size == 100  # The command line wins.
  assert (full.student.conv_channels, full.student.conv_stride, full.student.width,
          full.student.depth, full.student.bc_steps, full.student.learning_rate) == (
              16, 1, 128, 1, 1000, 0.1)
  assert full.data.genome_upsample == 1  # The paper evolves every pixel.


def test_the_real_fashion_mnist_files_load():
  if not os.path.exists(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")):
    pytest.skip("FashionMNIST not installed (apt-get install dataset-fashion-mnist)")
  data = image_data.load(FASHION_DIR)
  assert data.train_images.shape == (55000, 784) and data.heldout_images.shape == (5000, 784)
  assert data.test_images.shape == (10000, 784)
  assert np.bincount(data.test_labels).tolist() == [1000] * 10


def test_image_dataset_picture(tmp_path):
  """One row per class: the class-mean start images, then the distilled ones (clipped to
  [0, 1]), under the class names; the family writes it through `tasks.plot_dataset`."""
  from hades import drawing

  directory = write_dataset_dir(tmp_path / "d")
  data = image_data.load(directory, 20)
  start = image_data.initial_images(data, 2, "class_means")
  dataset = supervised.labelled(start + 0.1, 10)
  images, labels = np.asarray(dataset.states), np.asarray(dataset.actions).argmax(-1)
  names = [f"class{c}" for c in range(10)]
  fig = drawing.image_dataset_figure(images, labels, class_names=names, start=start)
  grid = np.asarray(fig.axes).reshape(10, 4)  # Per class: 2 start, 2 distilled images.
  side = conftest.IMAGE_SIDE
  for c in range(10):
    rows = np.flatnonzero(labels == c)
    assert grid[c, 0].get_ylabel() == f"class{c}"
    for k, i in enumerate(rows):
      np.testing.assert_allclose(grid[c, k].images[0].get_array(),
                                 np.clip(start[i].reshape(side, side), 0, 1))
      np.testing.assert_allclose(grid[c, 2 + k].images[0].get_array(),
                                 np.clip(images[i].reshape(side, side), 0, 1))
  assert grid[0, 0].get_title() == "start" and grid[0, 2].get_title() == "distilled"
  info = dataset_lib.DatasetInfo("fashion_mnist", normalization="none", labels="fixed",
                                 data_dir=directory)
  path = str(tmp_path / "dataset.png")
  tasks.plot_dataset(dataset, info, path, start=start)
  assert os.path.getsize(path) > 1000
