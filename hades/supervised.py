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

The family itself (task parts, the scorer of a final dataset on the test files, baselines) is
`hades.families.supervised`.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades import dataset as dataset_lib
from hades import image_data
from hades import types
from hades.errors import ConfigError

METRICS = ("accuracy", "cross_entropy")
# Learned labels start as these logits times one-hot (softmax: ~0.85 on the class).
LEARNED_LABEL_LOGIT = 4.0


def compact(images: np.ndarray) -> jax.Array:
  """Images as uint8 when they are whole multiples of 1/255 (a quarter of the memory in the
  compiled program), else float32."""
  as_bytes = np.round(images * 255.0)
  if np.array_equal(as_bytes / 255.0, images.astype(np.float64)):
    return jnp.asarray(as_bytes.astype(np.uint8))
  return jnp.asarray(images, jnp.float32)


def to_pixels(x: jax.Array) -> jax.Array:
  return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x


def _chunk(n: int, limit: int = 1024) -> int:
  """The largest divisor of n that is at most `limit` (images scored at once)."""
  return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


def make_scores(policy: types.Policy, images: np.ndarray, labels: np.ndarray,
                batch_size: int = 0):
  """Returns scores(params, key) -> (accuracy [], cross_entropy []) of one student on
  `batch_size` of the images [N, P] (labels [N]) drawn without replacement with `key`, or on
  all of them (batch_size 0 or >= N; `key` unused). Scored in chunks of <= 1024 images."""
  images, labels = compact(images), jnp.asarray(labels, jnp.int32)
  n = int(images.shape[0])
  batch = n if batch_size <= 0 or batch_size >= n else batch_size
  chunk = _chunk(batch)

  def scores(params, key):
    x, y = images, labels
    if batch < n:
      idx = jax.random.choice(key, n, (batch,), replace=False)
      x, y = x[idx], y[idx]

    def one_chunk(xy):
      logits, _ = policy.apply(params, to_pixels(xy[0]))
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


def load_data(directory: str, validation_size: int = 5000) -> image_data.ImageData:
  """The real images in `directory`, the last `validation_size` training images held out;
  DatasetFileError if unusable."""
  return image_data.load(os.path.abspath(directory), int(validation_size))


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
