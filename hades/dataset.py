"""Synthetic datasets: the object HaDES evolves, and its files.

States live in the student's input space, i.e. *normalised* observation units: at evaluation the
environment's observations are normalised (running or constant statistics, see `rollout.py`)
before the policy sees them, exactly as in the paper's released datasets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hades import errors
from hades import files
from hades import gymnax_env
from hades import minatar_files
from hades import policy as policy_lib
from hades.errors import ConfigError

NORMALIZATIONS = ("running", "constant", "none")
LABELS = policy_lib.LABELS  # fixed one-hots, or evolved (learned) labels.


@struct.dataclass
class SyntheticDataset:
  """A dataset of state-action pairs.

  Attributes:
    states: [D, obs_size] float32, in normalised observation units.
    actions: [D, act_size] float32. Continuous tasks: unbounded actions (the env clips to
      [-1, 1]). Discrete tasks ([D, num_actions]): one-hot labels ('fixed') or label logits
      ('learned'), see `policy.CategoricalHead`.
  """

  states: jax.Array
  actions: jax.Array

  @property
  def size(self) -> int:
    return self.states.shape[-2]


def zeros(size: int, obs_size: int, act_size: int) -> SyntheticDataset:
  """The all-zero dataset, the paper's ES starting point (mean initialised at zero)."""
  if size < 1:
    raise ConfigError(f"dataset size must be >= 1, got {size}")
  return SyntheticDataset(
      states=jnp.zeros((size, obs_size), jnp.float32),
      actions=jnp.zeros((size, act_size), jnp.float32),
  )


def fixed_labels(size: int, num_actions: int) -> np.ndarray:
  """The paper's balanced labels: [k * num_actions, num_actions] one-hots, k = size //
  num_actions states per action, in action order ([0]*k + [1]*k + ...); the size % num_actions
  states left over are not used."""
  if size < num_actions:
    raise ConfigError(f"dataset size {size} is smaller than the {num_actions} actions: fixed "
                      f"labels need at least one state per action (dataset.size >= "
                      f"{num_actions}, or dataset.labels=learned)")
  k = size // num_actions
  return np.repeat(np.eye(num_actions, dtype=np.float32), k, axis=0)


def check_labels(labels: str, size: int, num_actions: int, discrete: bool) -> None:
  """Raises ConfigError unless `labels` suits a task (NumPy only: configs are checked before
  the launchers start the XLA backend)."""
  if labels not in LABELS:
    raise ConfigError(f"unknown dataset.labels {labels!r}; choose one of {LABELS}")
  if labels == "fixed":
    if not discrete:
      raise ConfigError("dataset.labels=fixed needs a discrete-action task; continuous tasks "
                        "evolve their actions (dataset.labels=learned)")
    fixed_labels(size, num_actions)  # Raises when too small.


@dataclasses.dataclass(frozen=True)
class DatasetLayout:
  """What the ES evolves and how it becomes a dataset.

  Attributes:
    template: the evolved pytree at the ES's starting point (all zeros): a SyntheticDataset,
      with actions [D, 0] when the labels are fixed (only states are evolved).
    labels: 'learned' (actions/labels evolved) or 'fixed' (constant balanced one-hots).
    fixed: [D, num_actions] one-hots for 'fixed'.
    base: what the genome is an offset from (same shapes as the dataset; e.g. class-mean
      images), None: the genome itself (the ES starts at the all-zero dataset).
    decode_states: genome states [..., n] -> dataset states [..., obs_size] when the ES evolves
      fewer numbers per state than the dataset has (supervised: coarse images, upsampled);
      None: the genome's states are the dataset's.
  """

  template: SyntheticDataset
  labels: str
  fixed: np.ndarray | None = None
  base: SyntheticDataset | None = None
  decode_states: Any = None

  def to_dataset(self, genome: SyntheticDataset) -> SyntheticDataset:
    """Evolved pytree (any leading axes, e.g. [P]) -> the dataset students are trained on."""
    if self.decode_states is not None:
      genome = SyntheticDataset(self.decode_states(genome.states), genome.actions)
    if self.base is not None:
      genome = jax.tree.map(lambda g, b: g + jnp.asarray(b), genome, self.base)
    if self.fixed is None:
      return genome
    labels = jnp.broadcast_to(jnp.asarray(self.fixed), genome.states.shape[:-1]
                              + self.fixed.shape[-1:])
    return SyntheticDataset(genome.states, labels)


def make_layout(size: int, obs_size: int, act_size: int, labels: str = "learned",
                discrete: bool = False, base: SyntheticDataset | None = None,
                coarse_states: tuple[int, Any] | None = None) -> DatasetLayout:
  """The layout of a D=`size` dataset; 'fixed' labels (discrete tasks only) keep
  size // act_size states per action (`fixed_labels`). `base`: the dataset the genome is an
  offset from (shaped like the full-size template: fixed labels, actions [D', 0]).
  `coarse_states`: (n, decode) to evolve n numbers per state, decoded to obs_size
  (`DatasetLayout.decode_states`)."""
  check_labels(labels, size, act_size, discrete)
  genome_obs, decode = (obs_size, None) if coarse_states is None else coarse_states
  if labels == "fixed":
    onehot = fixed_labels(size, act_size)
    layout = DatasetLayout(zeros(onehot.shape[0], genome_obs, 0), labels, onehot,
                           decode_states=decode)
  else:
    layout = DatasetLayout(zeros(size, genome_obs, act_size), labels, decode_states=decode)
  if base is None:
    return layout
  shapes = [tuple(np.shape(x)) for x in (base.states, base.actions)]
  full = [(layout.template.states.shape[0], obs_size), layout.template.actions.shape]
  if shapes != [tuple(x) for x in full]:
    raise ConfigError(f"the base dataset has shapes {shapes}, the layout needs "
                      f"{full[0]} and {full[1]}")
  return dataclasses.replace(layout, base=to_host(base))


@dataclasses.dataclass
class DatasetInfo:
  """What is needed to use a dataset besides its arrays.

  Attributes:
    task: canonical task name.
    backend: Brax backend it was distilled with.
    normalization: 'running', 'constant' or 'none' (see rollout.py).
    obs_mean, obs_var: [obs_size] constant statistics (required for 'constant').
    source: free text, e.g. the run or file it came from.
    labels: what a discrete task's actions are: 'fixed' (one-hots) or 'learned' (logits);
      continuous tasks: 'learned'.
    student: overrides of the paper's student the dataset was made for (released files).
    eval_envs: parallel envs per student its makers evaluated with (0: not known).
    fixed_init: HaDES-F files of the paper: the key (420 + seed) of the one student init the
      dataset was tuned to, `minatar_files.init_authors_student` (-1: fresh inits).
    data_dir: supervised tasks: the directory of the real (MNIST-format) images its students
      are tested on ("": none / the default).
  """

  task: str
  backend: str = "positional"
  normalization: str = "running"
  obs_mean: np.ndarray | None = None
  obs_var: np.ndarray | None = None
  source: str = ""
  labels: str = "learned"
  student: dict = dataclasses.field(default_factory=dict)
  eval_envs: int = 0
  fixed_init: int = -1
  data_dir: str = ""

  def __post_init__(self):
    if self.normalization not in NORMALIZATIONS:
      raise ConfigError(
          f"unknown normalization {self.normalization!r}; choose one of {NORMALIZATIONS}")
    if self.normalization == "constant" and (self.obs_mean is None or self.obs_var is None):
      raise ConfigError("constant normalization needs obs_mean and obs_var")

  def program_fields(self) -> dict:
    """Every field but the free-text `source`: what a scorer compiled for this info depends
    on (a key of `hades.memo`)."""
    return {k: v for k, v in dataclasses.asdict(self).items() if k != "source"}


DatasetFileError = errors.DatasetFileError


def save(path: str, dataset: SyntheticDataset, info: DatasetInfo, **extra: np.ndarray) -> None:
  """Writes `dataset` + `info` (+ extra arrays) to an .npz file atomically (no half-written files)."""
  arrays = {
      "states": np.asarray(dataset.states, np.float32),
      "actions": np.asarray(dataset.actions, np.float32),
      "task": np.array(info.task),
      "backend": np.array(info.backend),
      "normalization": np.array(info.normalization),
      "source": np.array(info.source),
      "labels": np.array(info.labels),
      "data_dir": np.array(info.data_dir),
      "format": np.array("hades-dataset-v1"),
  }
  if info.obs_mean is not None:
    arrays["obs_mean"] = np.asarray(info.obs_mean, np.float32)
    arrays["obs_var"] = np.asarray(info.obs_var, np.float32)
  arrays.update({k: np.asarray(v) for k, v in extra.items()})
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
    np.savez(f, **arrays)


_REFERENCE_NAME = re.compile(r"brax_(?P<sweep>sweepD_)?(?P<task>[a-z0-9_]+?)_D(?P<size>\d+)_distill")


def load(path: str, normalization: str | None = None) -> tuple[SyntheticDataset, DatasetInfo]:
  """Loads a dataset written by `save`, or one of the paper's released .npz files.

  For the paper's files (`brax_[sweepD_]<task>_D<n>_distill_seed<s>.npz`, or a symlink to one)
  the normalisation is inferred as its authors used it: CONSTANT for the non-sweep D4 files,
  RUNNING otherwise.

  Args:
    path: .npz file.
    normalization: overrides the stored/inferred normalisation mode.

  Raises:
    DatasetFileError: missing, corrupt or incomplete file.
  """
  if not os.path.isfile(path):
    raise DatasetFileError(f"dataset file not found: {path}")
  if minatar_files.is_released_file(path):
    return _load_released_minatar(path, normalization)
  try:
    with np.load(path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    raise DatasetFileError(f"cannot read dataset file {path}: {e}") from None
  for key in ("states", "actions"):
    if key not in arrays:
      raise DatasetFileError(f"dataset file {path} has no {key!r} array")
  states = np.asarray(arrays["states"], np.float32)
  actions = np.asarray(arrays["actions"], np.float32)
  if states.ndim != 2 or actions.ndim != 2 or states.shape[0] != actions.shape[0]:
    raise DatasetFileError(
        f"dataset file {path}: states {states.shape} and actions {actions.shape} must be "
        "[D, obs] and [D, act] with the same D")
  if not (np.all(np.isfinite(states)) and np.all(np.isfinite(actions))):
    raise DatasetFileError(f"dataset file {path} contains NaN or inf")
  obs_mean = arrays.get("obs_mean")
  obs_var = arrays.get("obs_var")

  if "task" in arrays:  # Our own format.
    info = DatasetInfo(
        task=str(arrays["task"]),
        backend=str(arrays.get("backend", "positional")),
        normalization=normalization or str(arrays.get("normalization", "running")),
        obs_mean=obs_mean, obs_var=obs_var,
        source=str(arrays.get("source", path)),
        labels=str(arrays.get("labels", "learned")),
        data_dir=str(arrays.get("data_dir", "")))
  else:  # The paper's released files.
    # A link to a paper file (e.g. WORKDIR/hopper/dataset.npz -> brax_hopper_D64_...npz) counts.
    match = (_REFERENCE_NAME.search(os.path.basename(path))
             or _REFERENCE_NAME.search(os.path.basename(os.path.realpath(path))))
    if match is None:
      raise DatasetFileError(
          f"dataset file {path} has no task metadata and is not named like the paper's "
          "files (brax_<task>_D<n>_distill_seed<s>.npz), nor a link to one")
    inferred = ("constant" if not match["sweep"] and int(match["size"]) == 4
                and obs_mean is not None else "running")
    # The paper ran brax 0.9.4, whose IDP reward and termination differ from today's: its IDP
    # files get the paper's variant (hades/paper_envs.py).
    task = {"inverted_double_pendulum": "inverted_double_pendulum_paper"}.get(
        match["task"], match["task"])
    info = DatasetInfo(
        task=task, backend="positional",
        normalization=normalization or inferred,
        obs_mean=obs_mean, obs_var=obs_var, source=os.path.abspath(path))
  return SyntheticDataset(jnp.asarray(states), jnp.asarray(actions)), info


def load_extra(path: str, name: str) -> np.ndarray | None:
  """One of the extra arrays `save` stored in `path` (e.g. 'start_states'), None if absent."""
  try:
    with np.load(path, allow_pickle=False) as data:
      return np.asarray(data[name]) if name in data.files else None
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    raise DatasetFileError(f"cannot read dataset file {path}: {e}") from None


# Released files of games whose gymnax env changed since the paper's gymnax 0.0.6 are scored in
# that version's env, the one they were made in (docs/paper_files.md); --task=<today's> still
# scores them in today's.
PAPER_ENV_TASKS = {"SpaceInvaders-MinAtar": "space_invaders_paper"}


def _load_released_minatar(path: str, normalization: str | None
                           ) -> tuple[SyntheticDataset, DatasetInfo]:
  """The paper's released MinAtar files (`hades.minatar_files`): labelled rows only, fixed
  one-hot labels, constant normalisation and the authors' student (2x512 ReLU, Adam 0.03
  without clipping, the file's BC steps)."""
  states, labels, meta = minatar_files.load_released(path)
  actions = np.eye(meta["n_actions"], dtype=np.float32)[labels]
  student = dict(width=512, depth=2, activation="relu", kernel_init="orthogonal",
                 learning_rate=0.03, max_grad_norm=0.0, bc_steps=meta["bc_steps"])
  task = PAPER_ENV_TASKS.get(meta["env_id"]) or {
      env_id: name for name, env_id in gymnax_env.GYMNAX_IDS.items()}[meta["env_id"]]
  info = DatasetInfo(task=task, backend="positional",
                     normalization=normalization or "constant", obs_mean=meta["obs_mean"],
                     obs_var=meta["obs_var"], source=meta["source"], labels="fixed",
                     student=student, eval_envs=8,
                     fixed_init=-1 if meta["fixed_init_seed"] is None else meta["fixed_init_seed"])
  return SyntheticDataset(jnp.asarray(states), jnp.asarray(actions)), info


def read_obs_stats(path: str, obs_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """(obs_mean [obs], obs_var [obs]) from the .npz at `path` (e.g. one of the paper's D4
  files); ConfigError unless both are readable, 1-D of one length (`obs_size` when given),
  finite, with every variance > 0."""
  try:
    with np.load(path, allow_pickle=False) as f:
      mean, var = np.asarray(f["obs_mean"], np.float32), np.asarray(f["obs_var"], np.float32)
  except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise ConfigError(f"cannot read obs_mean/obs_var from {path}: {e}") from None
  size = mean.shape[0] if mean.ndim == 1 and obs_size is None else obs_size
  if mean.shape != (size,) or var.shape != (size,):
    raise ConfigError(f"obs stats in {path} have shapes {mean.shape} and {var.shape}; need "
                      f"({size if size is not None else 'obs'},) for both")
  if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var > 0)):
    raise ConfigError(f"obs stats in {path} must be finite with every obs_var > 0")
  return mean, var


def check_fits(dataset: SyntheticDataset, obs_size: int, act_size: int, what: str = "dataset"):
  """Raises DatasetFileError unless dataset is [D, obs_size] states and [D, act_size] actions."""
  if dataset.states.shape[-1] != obs_size or dataset.actions.shape[-1] != act_size:
    raise DatasetFileError(
        f"{what} has states {tuple(dataset.states.shape)} and actions "
        f"{tuple(dataset.actions.shape)}, but the task needs obs size {obs_size} and "
        f"action size {act_size}")


def to_host(dataset: SyntheticDataset) -> SyntheticDataset:
  """The dataset as float32 host arrays: a scorer's jitted programs then see one input type
  whether the dataset came from a file, a run's replicated state or a numpy template (device
  arrays of another placement would make them compile again)."""
  return SyntheticDataset(np.asarray(dataset.states, np.float32),
                          np.asarray(dataset.actions, np.float32))


def content_hash(dataset: SyntheticDataset, info: DatasetInfo) -> str:
  """A short hash of what a dataset means: its arrays, task and observation normalisation
  (not where it came from), to tell results made from other inputs apart."""
  h = hashlib.sha256()
  for array in (dataset.states, dataset.actions, info.obs_mean, info.obs_var):
    if array is not None:
      array = np.ascontiguousarray(np.asarray(array, np.float32))
      h.update(str(array.shape).encode())
      h.update(array.tobytes())
  h.update(f"{info.task}|{info.backend}|{info.normalization}|{info.labels}".encode())
  return h.hexdigest()[:16]
