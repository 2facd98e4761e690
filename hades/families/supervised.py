"""The supervised family: labelled images (FashionMNIST, any MNIST-format files), CNN
classifiers, scored by their accuracy on real images (`hades.supervised`); no environment.

A run's fitness is accuracy (or minus cross-entropy) on held-out training images; a final
dataset is scored on the test files, next to the standard baselines (random real images, class
means, the full training set).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades import bc
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import image_data
from hades import student as student_lib
from hades import supervised
from hades import types
from hades.errors import ConfigError, InputError
from hades.families import base


@dataclasses.dataclass(frozen=True)
class DataSettings:
  """The supervised family's own settings (the config section `data`).

  Attributes:
    dir: the four MNIST-format IDX files (.gz or not).
    validation_size: the last training images, held out for fitness.
    fitness_batch: held-out images per fitness evaluation (0: all).
    metric: the fitness, 'accuracy' | 'cross_entropy' (minus it).
    init: the ES's base images, 'class_means' | 'random_real' | 'noise'.
    genome_upsample: k > 1 evolves each image on a (side / k)^2 grid (`make_upsample`).
  """

  dir: str = image_data.DEFAULT_DIR
  validation_size: int = 5000
  fitness_batch: int = 1000
  metric: str = "accuracy"
  init: str = "class_means"
  genome_upsample: int = 1


def make_task_parts(spec: base.TaskSpec, settings: base.TaskSettings) -> types.TaskParts:
  """The supervised family's parts for `distill.build`: CNN student, held-out scorer, base."""
  options = settings.options or DataSettings()
  data = supervised.load_data(options.dir, options.validation_size)
  ipc = supervised.images_per_class(settings.dataset_size, data.num_classes)
  head = base.make_head(spec, settings.labels)
  student = student_lib.make_student(data.input_size, data.num_classes, settings.student, head)
  evaluate = supervised.make_evaluate(student.policy, data.heldout_images, data.heldout_labels,
                                      options.fitness_batch, options.metric)
  start = supervised.labelled(
      image_data.initial_images(data, ipc, options.init, settings.seed),
      data.num_classes, settings.labels)
  genome_base = (dataset_lib.SyntheticDataset(start.states, start.actions[:, :0])
                 if settings.labels == "fixed" else start)
  info = dataset_lib.DatasetInfo(spec.name, normalization="none", labels=settings.labels,
                                 data_dir=os.path.abspath(options.dir))
  heldout = data.heldout_images.shape[0]
  scored = heldout if options.fitness_batch <= 0 else min(options.fitness_batch, heldout)
  return types.TaskParts(data.input_size, data.num_classes, student, evaluate, info, scored,
                         jax.tree.map(np.asarray, genome_base),
                         supervised.make_upsample(data.input_size, options.genome_upsample))


def make_dataset_scorer(spec: base.TaskSpec, info: dataset_lib.DatasetInfo,
                        student: Mapping[str, Any] | student_lib.StudentSettings | None = None,
                        num_students: int = 8):
  """Returns score(dataset, seed) -> summary: `num_students` fresh students trained on the
  dataset, tested on the whole test set of `info.data_dir`. The summary has
  test_accuracy_mean / _std (fractions; also as return_mean / return_std, the family-blind
  names), per_student, test_cross_entropy, bc_loss and the settings."""
  task = spec.name
  if not isinstance(student, student_lib.StudentSettings):
    student = student_lib.StudentSettings.for_task(spec, student)
  num_classes = spec.num_actions
  _, _, test_images, test_labels = image_data.read_directory(
      os.path.abspath(info.data_dir or image_data.DEFAULT_DIR), num_classes)
  built = student_lib.make_student(test_images.shape[1], num_classes, student,
                                   base.make_head(spec, info.labels))
  evaluate = supervised.make_evaluate(built.policy, test_images, test_labels)
  eval_fn = jax.jit(fitness_lib.make_dataset_eval(built.init_params, built.train, evaluate,
                                                  num_students))

  def score(dataset: dataset_lib.SyntheticDataset, seed: int = 0) -> dict:
    dataset_lib.check_fits(dataset, test_images.shape[1], num_classes, f"dataset for {task}")
    dataset = dataset_lib.to_host(dataset)
    results, loss = jax.device_get(eval_fn(dataset, jax.random.key(seed)))
    summary = fitness_lib.summarize(results)
    summary.update(test_accuracy_mean=summary["return_mean"],
                   test_accuracy_std=summary["return_std"], task=task,
                   dataset_size=int(dataset.size), num_students=num_students, seed=seed,
                   student=student.to_dict(), bc_loss=float(loss.mean()),
                   data_dir=info.data_dir, test_images=int(test_images.shape[0]))
    return summary

  return score


def make_full_train_scorer(spec: base.TaskSpec, info: dataset_lib.DatasetInfo,
                           student: student_lib.StudentSettings, num_students: int = 8,
                           batch_size: int = 256):
  """Returns score(seed) -> summary of the full-training-set baseline: fresh students trained
  with the same student, optimiser and number of steps on minibatches of `batch_size` real
  training images (all of them, held-out split included), tested like `make_dataset_scorer`."""
  num_classes = spec.num_actions
  images, labels, test_images, test_labels = image_data.read_directory(
      os.path.abspath(info.data_dir or image_data.DEFAULT_DIR), num_classes)
  built = student_lib.make_student(images.shape[1], num_classes, student,
                                   base.make_head(spec, "fixed"))
  n = images.shape[0]

  def batch_fn(data_and_key, step):
    (x, y), key = data_and_key
    idx = jax.random.randint(jax.random.fold_in(key, step), (batch_size,), 0, n)
    return dataset_lib.SyntheticDataset(supervised.to_pixels(x[idx]),
                                        jax.nn.one_hot(y[idx], num_classes))

  train = bc.make_train(bc.make_bc_loss(built.policy, built.head), student.bc_steps,
                        student.learning_rate, student.max_grad_norm, student.optimizer,
                        batch_fn)
  evaluate = supervised.make_evaluate(built.policy, test_images, test_labels)
  eval_fn = jax.jit(fitness_lib.make_dataset_eval(built.init_params, train, evaluate,
                                                  num_students))

  def score(seed: int = 0) -> dict:
    key = jax.random.key(seed)
    everything = ((supervised.compact(images), jnp.asarray(labels, jnp.int32)),
                  jax.random.fold_in(key, 1))
    results, _ = jax.device_get(eval_fn(everything, key))
    summary = fitness_lib.summarize(results)
    return {"test_accuracy_mean": summary["return_mean"],
            "test_accuracy_std": summary["return_std"], "per_student": summary["per_student"],
            "training_images": int(n), "batch_size": batch_size,
            "bc_steps": student.bc_steps}

  return score


def evaluate_with_baselines(spec: base.TaskSpec, dataset: dataset_lib.SyntheticDataset,
                            info: dataset_lib.DatasetInfo,
                            student: Mapping[str, Any] | None = None, num_students: int = 8,
                            seed: int = 0, validation_size: int = 5000,
                            full_train_batch: int = 256, baselines: bool = True) -> dict:
  """Test accuracy of `num_students` fresh students on `dataset`, and in the same run the
  standard baselines with the same students and steps: random real images (same images per
  class), class means, and the full training set (`make_full_train_scorer`; skipped when
  full_train_batch <= 0)."""
  settings = student_lib.StudentSettings.for_task(spec, student)
  score = make_dataset_scorer(spec, info, settings, num_students)
  result = score(dataset, seed)
  if not baselines:
    return result
  data = supervised.load_data(info.data_dir or image_data.DEFAULT_DIR, validation_size)
  ipc = max(1, int(dataset.size) // data.num_classes)
  result["images_per_class"] = ipc
  found = {}
  for init in ("random_real", "class_means"):
    images = image_data.initial_images(data, ipc, init, seed)
    summary = score(supervised.labelled(images, data.num_classes, info.labels), seed)
    found[init] = {k: summary[k] for k in ("test_accuracy_mean", "test_accuracy_std",
                                           "per_student")}
  if full_train_batch > 0:
    found["full_train"] = make_full_train_scorer(
        spec, info, settings, num_students, full_train_batch)(seed)
  result["baselines"] = found
  return result


class SupervisedFamily:
  """Labelled images (see the module docstring); `step_unit`: images scored."""

  name = "supervised"
  has_env = False
  step_unit = "images"
  options_type = DataSettings
  options_section = "data"

  def preset_groups(self, spec: base.TaskSpec) -> tuple[str, ...]:
    return ("supervised",)

  def make_env(self, spec: base.TaskSpec, backend: str = "positional", episode_length: int = 0):
    raise ConfigError(f"{spec.name} is a supervised task: it has no environment to roll out")

  def check_backend(self, backend: str) -> str:
    return backend  # No environment: the setting is unused.

  def make_task_parts(self, spec: base.TaskSpec, settings: base.TaskSettings
                      ) -> types.TaskParts:
    return make_task_parts(spec, settings)

  def make_dataset_scorer(self, spec: base.TaskSpec, info: dataset_lib.DatasetInfo,
                          student: student_lib.StudentSettings, num_students: int = 8,
                          num_envs: int = 0, num_steps: int = 0) -> base.Scorer:
    """Test accuracy (`make_dataset_scorer`); num_envs and num_steps unused."""
    del num_envs, num_steps
    return make_dataset_scorer(spec, info, student, num_students)

  def evaluate_file(self, spec: base.TaskSpec, dataset: dataset_lib.SyntheticDataset,
                    info: dataset_lib.DatasetInfo, student: Mapping[str, Any],
                    options: Mapping[str, Any], score_dataset=None, **kwargs) -> dict:
    """Test accuracy and the baselines (`evaluate_with_baselines`) with `options` (data_dir,
    validation_size, full_train_batch, baselines); the num_students and seed of kwargs apply,
    the env settings do not."""
    del score_dataset
    options = dict(options or {})
    data_dir = options.pop("data_dir", None)
    if data_dir:
      info.data_dir = os.path.abspath(os.path.expanduser(data_dir))
    return evaluate_with_baselines(spec, dataset, info, student,
                                   kwargs.get("num_students") or 8, kwargs.get("seed", 0),
                                   **options)

  def describe_result(self, result: dict) -> str:
    lines = [f"{result['task']}: test accuracy {result['test_accuracy_mean']:.3f} +- "
             f"{result['test_accuracy_std']:.3f} over {result['num_students']} students"]
    lines += [f"  baseline {name}: {b['test_accuracy_mean']:.3f} +- {b['test_accuracy_std']:.3f}"
              for name, b in result.get("baselines", {}).items()]
    return "\n".join(lines)

  def plot_dataset(self, spec: base.TaskSpec, dataset: dataset_lib.SyntheticDataset,
                   info: dataset_lib.DatasetInfo, path: str, start=None) -> None:
    """The images as a grid by class, next to `start` ([D, obs] the images the ES started
    from; default: the class means of `info.data_dir` when readable)."""
    from hades import drawing

    states, actions = np.asarray(dataset.states), np.asarray(dataset.actions)
    labels = actions.argmax(-1)
    if start is None and info.data_dir:
      try:
        data = image_data.load(info.data_dir)
        start = image_data.class_means(data.train_images, data.train_labels,
                                       data.num_classes)[labels]
      except InputError:
        start = None
    names = image_data.FASHION_MNIST_CLASSES if spec.name == "fashion_mnist" else None
    drawing.plot_image_dataset(
        states, labels, path, class_names=names, start=start,
        title=f"distilled {spec.name} dataset ({len(states)} images, {info.labels} labels)")

  def check_renderer(self, spec: base.TaskSpec) -> None:
    raise InputError(f"{spec.name} is a supervised task: it has no environment to film")

  def write_video(self, spec: base.TaskSpec, env, states, output: str, every: int, width: int,
                  height: int, html: bool) -> int:
    self.check_renderer(spec)


FAMILY = SupervisedFamily()

TASKS = (
    # The paper's supervised student: conv 16 3x3 -> dense 128 -> 10, 1000 full-batch SGD
    # steps at 0.1.
    base.TaskSpec("fashion_mnist", family="supervised", bc_steps=1000, num_actions=10,
                  episode_length=0, aliases=("fashion-mnist", "fashionmnist"),
                  student=(("conv_channels", 16), ("conv_stride", 1), ("width", 128),
                           ("depth", 1), ("activation", "relu"),
                           ("kernel_init", "lecun_normal"), ("optimizer", "sgd"),
                           ("learning_rate", 0.1), ("max_grad_norm", 0.0))),
)
