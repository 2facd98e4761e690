"""The supervised family: HaDES as dataset distillation of labelled images (FashionMNIST).

A candidate is a few synthetic images per class (fixed one-hot labels, or evolved label
logits); its fitness is how well a CNN classifier (`classifier.ConvClassifier`) trained on them
from scratch does on real held-out training images (`image_data`): its accuracy (default) or
minus its cross-entropy, on `config.data.fitness_batch` held-out images drawn afresh each
generation (the same for every candidate: common random numbers). Accuracy is what the report
measures; cross-entropy is smoother but rewards hedging, and a student trained to zero loss on
ten images is confidently wrong on many real ones.

The ES genome is an offset from a base dataset (`config.data.init`): class means (the paper),
random real images, or zeros ('noise'); the ES mean starts at zero, i.e. at the base. With
`config.data.genome_upsample` k > 1 the offset is evolved on a (side / k)^2 grid and upsampled
(`make_upsample`): k^2 times fewer numbers for the ES's gradient estimate to cover.

Scoring a final dataset trains fresh students and reports their accuracy on the test files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from hades import bc
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import image_data
from hades import student as student_lib
from hades import tasks
from hades import types
from hades.errors import ConfigError

METRICS = ("accuracy", "cross_entropy")
# Learned labels start as these logits times one-hot (softmax: ~0.85 on the class).
LEARNED_LABEL_LOGIT = 4.0


def _compact(images: np.ndarray) -> jax.Array:
  """Images as uint8 when they are whole multiples of 1/255 (a quarter of the memory in the
  compiled program), else float32."""
  as_bytes = np.round(images * 255.0)
  if np.array_equal(as_bytes / 255.0, images.astype(np.float64)):
    return jnp.asarray(as_bytes.astype(np.uint8))
  return jnp.asarray(images, jnp.float32)


def _to_pixels(x: jax.Array) -> jax.Array:
  return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x


def _chunk(n: int, limit: int = 1024) -> int:
  """The largest divisor of n that is at most `limit` (images scored at once)."""
  return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def make_scores(policy: types.Policy, images: np.ndarray, labels: np.ndarray,
                batch_size: int = 0):
  """Returns scores(params, key) -> (accuracy [], cross_entropy []) of one student on
  `batch_size` of the images [N, P] (labels [N]) drawn without replacement with `key`, or on
  all of them (batch_size 0 or >= N; `key` unused). Scored in chunks of <= 1024 images."""
  images, labels = _compact(images), jnp.asarray(labels, jnp.int32)
  n = int(images.shape[0])
  batch = n if batch_size <= 0 or batch_size >= n else batch_size
  chunk = _chunk(batch)

  def scores(params, key):
    x, y = images, labels
    if batch < n:
      idx = jax.random.choice(key, n, (batch,), replace=False)
      x, y = x[idx], y[idx]

    def one_chunk(xy):
      logits, _ = policy.apply(params, _to_pixels(xy[0]))
      logp = jax.nn.log_softmax(logits, axis=-1)
      hits = jnp.sum(jnp.argmax(logits, -1) == xy[1])
      return hits, -jnp.sum(jnp.take_along_axis(logp, xy[1][:, None], -1))

    xs = (x.reshape((batch // chunk, chunk) + x.shape[1:]), y.reshape(batch // chunk, chunk))
    hits, ce = jax.lax.map(one_chunk, xs)
    return jnp.sum(hits) / batch, jnp.sum(ce) / batch

  return scores


def make_evaluate(policy: types.Policy, images: np.ndarray, labels: np.ndarray,
                  batch_size: int = 0, metric: str = "accuracy") -> types.Evaluate:
  """The supervised `Evaluate`: EvalResult whose fitness is the student's accuracy (fraction)
  or minus its mean cross-entropy on real images (see `make_scores`); one 'episode'."""
  if metric not in METRICS:
    raise ConfigError(f"unknown config.data.metric {metric!r}; choose one of {METRICS}")
  scores = make_scores(policy, images, labels, batch_size)

  def evaluate(params, key) -> types.EvalResult:
    accuracy, cross_entropy = scores(params, key)
    score = accuracy if metric == "accuracy" else -cross_entropy
    return types.EvalResult(score, score**2, jnp.ones((), jnp.float32), score)

  return evaluate


def load_data(data_config: Mapping[str, Any]) -> image_data.ImageData:
  """The real images of `config.data` (dir, validation_size); DatasetFileError if unusable."""
  return image_data.load(os.path.abspath(data_config["dir"]),
                         int(data_config.get("validation_size", 5000)))


def labelled(images: np.ndarray, num_classes: int, labels: str = "fixed"
             ) -> dataset_lib.SyntheticDataset:
  """Images [k * C, P] in class order as a dataset: one-hot labels [k * C, C] ('fixed') or
  one-hot logits x LEARNED_LABEL_LOGIT ('learned')."""
  onehot = dataset_lib.fixed_labels(images.shape[0], num_classes)
  scale = 1.0 if labels == "fixed" else LEARNED_LABEL_LOGIT
  return dataset_lib.SyntheticDataset(jnp.asarray(images, jnp.float32),
                                      jnp.asarray(onehot * scale))


def images_per_class(size: int, num_classes: int) -> int:
  if size < num_classes or size % num_classes:
    raise ConfigError(f"dataset.size={size} must be a multiple of the {num_classes} classes "
                      f"(images per class x {num_classes})")
  return size // num_classes


def make_upsample(input_size: int, factor: int) -> tuple[int, Any] | None:
  """`TaskParts.coarse_states` (n, decode) for an ES that evolves each square image
  [side * side] as a coarse [side / factor]^2 grid: decode(x [..., n]) -> [..., side * side]
  upsamples it bilinearly. factor 1: None, pixel by pixel."""
  side = math.isqrt(input_size)
  if factor < 1 or side * side != input_size or side % factor:
    raise ConfigError(f"data.genome_upsample={factor} must be >= 1 and divide the image side "
                      f"{side} (images of {input_size} pixels)")
  if factor == 1:
    return None
  coarse = side // factor

  def decode(x: jax.Array) -> jax.Array:
    lead = x.shape[:-1]
    grid = jax.image.resize(x.reshape(lead + (coarse, coarse)), lead + (side, side), "linear")
    return grid.reshape(lead + (input_size,))

  return coarse * coarse, decode


def make_task_parts(config: ml_collections.ConfigDict) -> types.TaskParts:
  """The supervised family's parts for `distill.build`: CNN student, held-out scorer, base."""
  data = load_data(config.data)
  ipc = images_per_class(config.dataset.size, data.num_classes)
  settings = student_lib.StudentSettings.for_task(config.task, config.student)
  head = tasks.make_head(config.task, config.dataset.labels)
  student = student_lib.make_student(data.input_size, data.num_classes, settings, head)
  evaluate = make_evaluate(student.policy, data.heldout_images, data.heldout_labels,
                           config.data.fitness_batch, config.data.metric)
  start = labelled(image_data.initial_images(data, ipc, config.data.init, config.seed),
                   data.num_classes, config.dataset.labels)
  base = (dataset_lib.SyntheticDataset(start.states, start.actions[:, :0])
          if config.dataset.labels == "fixed" else start)
  info = dataset_lib.DatasetInfo(config.task, normalization="none",
                                 labels=config.dataset.labels,
                                 data_dir=os.path.abspath(config.data.dir))
  batch = config.data.fitness_batch
  scored = data.heldout_images.shape[0] if batch <= 0 else min(batch,
                                                                data.heldout_images.shape[0])
  return types.TaskParts(data.input_size, data.num_classes, student, evaluate, info, scored,
                         jax.tree.map(np.asarray, base),
                         make_upsample(data.input_size, config.data.genome_upsample))


def make_dataset_scorer(task: str, info: dataset_lib.DatasetInfo,
                        student: Mapping[str, Any] | student_lib.StudentSettings | None = None,
                        num_students: int = 8):
  """Returns score(dataset, seed) -> summary: `num_students` fresh students trained on the
  dataset, tested on the whole test set of `info.data_dir`. The summary has
  test_accuracy_mean / _std (fractions; also as return_mean / return_std, the family-blind
  names), per_student, test_cross_entropy, bc_loss and the settings."""
  task = tasks.resolve_task(task)
  if not isinstance(student, student_lib.StudentSettings):
    student = student_lib.StudentSettings.for_task(task, student)
  num_classes = tasks.get_task(task).num_actions
  _, _, test_images, test_labels = image_data.read_directory(
      os.path.abspath(info.data_dir or image_data.DEFAULT_DIR), num_classes)
  built = student_lib.make_student(test_images.shape[1], num_classes, student,
                                   tasks.make_head(task, info.labels))
  evaluate = make_evaluate(built.policy, test_images, test_labels)
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


def make_full_train_scorer(task: str, info: dataset_lib.DatasetInfo,
                           student: student_lib.StudentSettings, num_students: int = 8,
                           batch_size: int = 256):
  """Returns score(seed) -> summary of the full-training-set baseline: fresh students trained
  with the same student, optimiser and number of steps on minibatches of `batch_size` real
  training images (all of them, held-out split included), tested like `make_dataset_scorer`."""
  num_classes = tasks.get_task(task).num_actions
  images, labels, test_images, test_labels = image_data.read_directory(
      os.path.abspath(info.data_dir or image_data.DEFAULT_DIR), num_classes)
  built = student_lib.make_student(images.shape[1], num_classes, student,
                                   tasks.make_head(task, "fixed"))
  n = images.shape[0]

  def batch_fn(data_and_key, step):
    (x, y), key = data_and_key
    idx = jax.random.randint(jax.random.fold_in(key, step), (batch_size,), 0, n)
    return dataset_lib.SyntheticDataset(_to_pixels(x[idx]), jax.nn.one_hot(y[idx], num_classes))

  train = bc.make_train(bc.make_bc_loss(built.policy, built.head), student.bc_steps,
                        student.learning_rate, student.max_grad_norm, student.optimizer,
                        batch_fn)
  evaluate = make_evaluate(built.policy, test_images, test_labels)
  eval_fn = jax.jit(fitness_lib.make_dataset_eval(built.init_params, train, evaluate,
                                                  num_students))

  def score(seed: int = 0) -> dict:
    key = jax.random.key(seed)
    everything = ((_compact(images), jnp.asarray(labels, jnp.int32)),
                  jax.random.fold_in(key, 1))
    results, _ = jax.device_get(eval_fn(everything, key))
    summary = fitness_lib.summarize(results)
    return {"test_accuracy_mean": summary["return_mean"],
            "test_accuracy_std": summary["return_std"], "per_student": summary["per_student"],
            "training_images": int(n), "batch_size": batch_size,
            "bc_steps": student.bc_steps}

  return score


def evaluate_with_baselines(dataset: dataset_lib.SyntheticDataset, info: dataset_lib.DatasetInfo,
                            student: Mapping[str, Any] | None = None, num_students: int = 8,
                            seed: int = 0, validation_size: int = 5000,
                            full_train_batch: int = 256, baselines: bool = True) -> dict:
  """Test accuracy of `num_students` fresh students on `dataset`, and in the same run the
  standard baselines with the same students and steps: random real images (same images per
  class), class means, and the full training set (`make_full_train_scorer`; skipped when
  full_train_batch <= 0)."""
  settings = student_lib.StudentSettings.for_task(info.task, student)
  score = make_dataset_scorer(info.task, info, settings, num_students)
  result = score(dataset, seed)
  if not baselines:
    return result
  data = load_data({"dir": info.data_dir or image_data.DEFAULT_DIR,
                    "validation_size": validation_size})
  ipc = max(1, int(dataset.size) // data.num_classes)
  result["images_per_class"] = ipc
  found = {}
  for init in ("random_real", "class_means"):
    images = image_data.initial_images(data, ipc, init, seed)
    summary = score(labelled(images, data.num_classes, info.labels), seed)
    found[init] = {k: summary[k] for k in ("test_accuracy_mean", "test_accuracy_std",
                                           "per_student")}
  if full_train_batch > 0:
    found["full_train"] = make_full_train_scorer(
        info.task, info, settings, num_students, full_train_batch)(seed)
  result["baselines"] = found
  return result
