"""MNIST-format image data (FashionMNIST, MNIST, KMNIST, ...): IDX files in, NumPy arrays out.

Never downloads. A directory holds the four files of the format, gzipped or not:
  train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
  t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
(`train-images.idx3-ubyte` spellings work too). `apt-get install dataset-fashion-mnist` puts
FashionMNIST's in /usr/share/datasets/fashion-mnist. Images become float32 [N, side * side]
pixels in [0, 1] (row-major), the student's input units; labels int32 [N].

The last `validation_size` training images are held out: HaDES scores candidates on them
(fitness and validation), never trains on them; class means, random real images and the
full-training-set baseline use the rest. Test images are for the final report only.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os

import numpy as np

from hades.errors import ConfigError, DatasetFileError

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {"train_images": ("train", "images", "idx3"), "train_labels": ("train", "labels", "idx1"),
          "test_images": ("t10k", "images", "idx3"), "test_labels": ("t10k", "labels", "idx1")}
# IDX element type codes -> NumPy big-endian dtypes.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
  """Reads one IDX file (gzipped when its name ends in .gz) into an array of its shape.

  Raises DatasetFileError when it is missing, truncated or not IDX.
  """
  try:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError) as e:
    raise DatasetFileError(f"cannot read IDX file {path}: {e}") from None
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
    raise DatasetFileError(f"{path} is not an IDX file (bad magic number)")
  ndim = raw[3]
  header = 4 + 4 * ndim
  if ndim < 1 or len(raw) < header:
    raise DatasetFileError(f"{path}: truncated IDX header")
  shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
  dtype = np.dtype(_IDX_TYPES[raw[2]])
  count = int(np.prod(shape))
  if len(raw) != header + count * dtype.itemsize:
    raise DatasetFileError(f"{path}: {len(raw) - header} data bytes, but its header says "
                           f"{shape} of {dtype.name} ({count * dtype.itemsize} bytes)")
  array = np.frombuffer(raw, dtype, count, offset=header).reshape(shape)
  return array.astype(dtype.newbyteorder("="))


def find_file(directory: str, split: str, kind: str, idx: str) -> str:
  """The path of one of the four files in `directory` (any usual spelling, .gz or not)."""
  stems = (f"{split}-{kind}-{idx}-ubyte", f"{split}-{kind}.{idx}-ubyte")
  for stem in stems:
    for name in (stem, stem + ".gz"):
      path = os.path.join(directory, name)
      if os.path.isfile(path):
        return path
  raise DatasetFileError(
      f"no {stems[0]}[.gz] in {directory!r}: config.data.dir must hold the four MNIST-format "
      "IDX files (FashionMNIST: apt-get install dataset-fashion-mnist)")


@dataclasses.dataclass(frozen=True)
class ImageData:
  """A labelled image dataset split three ways (float32 pixels in [0, 1], int32 labels).

  Attributes:
    train_images [N, P], train_labels [N]: what students may learn from (class means, random
      real images, the full-training-set baseline).
    heldout_images [V, P], heldout_labels [V]: held out of the training files for HaDES's
      fitness and validation.
    test_images [T, P], test_labels [T]: the test files, for the final report.
    num_classes: labels are 0..num_classes-1.
  """

  train_images: np.ndarray
  train_labels: np.ndarray
  heldout_images: np.ndarray
  heldout_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  num_classes: int

  @property
  def input_size(self) -> int:
    return self.train_images.shape[1]


def _images(array: np.ndarray, path: str) -> np.ndarray:
  if array.ndim != 3 or array.shape[1] != array.shape[2]:
    raise DatasetFileError(f"{path}: images must be [N, side, side], got {array.shape}")
  scale = 255.0 if array.dtype == np.uint8 else 1.0
  return (array.reshape(array.shape[0], -1).astype(np.float32) / scale)


@functools.lru_cache(maxsize=2)
def read_directory(directory: str, num_classes: int = 10
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """(train images [N, P], train labels [N], test images [T, P], test labels [T]) of the four
  IDX files of `directory` (read once per process). Raises DatasetFileError (missing,
  malformed or inconsistent files)."""
  arrays, paths = {}, {}
  for name, (split, kind, idx) in _FILES.items():
    paths[name] = find_file(directory, split, kind, idx)
    arrays[name] = read_idx(paths[name])
  train, test = (_images(arrays[f"{s}_images"], paths[f"{s}_images"]) for s in ("train", "test"))
  labels = {}
  for s, images in (("train", train), ("test", test)):
    y = arrays[f"{s}_labels"]
    if y.ndim != 1 or y.shape[0] != images.shape[0]:
      raise DatasetFileError(f"{paths[f'{s}_labels']}: {y.shape} labels for "
                             f"{images.shape[0]} images")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
      raise DatasetFileError(f"{paths[f'{s}_labels']}: labels must be in 0..{num_classes - 1}")
    labels[s] = y.astype(np.int32)
  if train.shape[1] != test.shape[1]:
    raise DatasetFileError(f"train images have {train.shape[1]} pixels, test {test.shape[1]}")
  for array in (train, labels["train"], test, labels["test"]):
    array.flags.writeable = False  # Shared by every caller.
  return train, labels["train"], test, labels["test"]


def load(directory: str, validation_size: int = 5000, num_classes: int = 10) -> ImageData:
  """The images of `directory` (`read_directory`) with the last `validation_size` training
  images held out. Raises DatasetFileError (missing, malformed or inconsistent files, or a
  split that leaves a class without training images)."""
  train, train_labels, test, test_labels = read_directory(directory, num_classes)
  if not 0 < validation_size < train.shape[0]:
    raise DatasetFileError(f"config.data.validation_size={validation_size} must be in "
                           f"(0, {train.shape[0]}) (the training images)")
  n = train.shape[0] - validation_size
  for c in range(num_classes):
    if not np.any(train_labels[:n] == c):
      raise DatasetFileError(f"class {c} has no training image in {directory} outside the "
                             "held-out split")
  return ImageData(train[:n], train_labels[:n], train[n:], train_labels[n:], test,
                   test_labels, num_classes)


INITS = ("class_means", "random_real", "noise")


def class_means(images: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
  """[num_classes, P] mean image of each class (images [N, P], labels [N])."""
  onehot = np.eye(num_classes, dtype=np.float64)[labels]  # [N, C]
  sums = onehot.T @ images.astype(np.float64)
  return (sums / np.maximum(onehot.sum(0), 1.0)[:, None]).astype(np.float32)


def initial_images(data: ImageData, per_class: int, init: str, seed: int = 0) -> np.ndarray:
  """[num_classes * per_class, P] starting images in class order ([0]*k + [1]*k + ..., the
  order of `dataset.fixed_labels`): 'class_means' (each class's mean, repeated), 'random_real'
  (per_class random training images of each class, drawn with `seed`) or 'noise' (zeros: the
  ES's own noise is the only signal, as for control tasks)."""
  if init == "class_means":
    means = class_means(data.train_images, data.train_labels, data.num_classes)
    return np.repeat(means, per_class, axis=0)
  if init == "random_real":
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(data.train_labels == c), per_class,
                        replace=per_class > np.sum(data.train_labels == c))
             for c in range(data.num_classes)]
    return data.train_images[np.concatenate(picks)]
  if init == "noise":
    return np.zeros((data.num_classes * per_class, data.input_size), np.float32)
  raise ConfigError(f"unknown config.data.init {init!r}; choose one of {INITS}")
