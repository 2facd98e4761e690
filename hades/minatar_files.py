"""The paper authors' released MinAtar datasets and fixed student initialisations.

Released datasets are `minatar_<Env>_D<n>_<variant>_seed<s>.npz` with arrays `states` [D, obs]
(normalised observation space), `labels` [D] (action index, -1 = unused row), `n_actions`,
`bc_steps`, `fixed_init_seed` (-1 for 'distill'), `obs_mean`, `obs_var` [obs] and the fitness
curves. variant 'distill' = HaDES-R (fresh student init), 'overfit' = HaDES-F (one fixed init).

Fixed initialisations are `minatar_<Env>_fixed_init_key<k>.npz` with `Dense_<i>_kernel` [in, out]
and `Dense_<i>_bias` [out]: what `AuthorsMinAtarMLP.init(PRNGKey(k), zeros((1, obs)))` gave
under flax 0.7.5 / jax 0.4.23.
"""

from __future__ import annotations

import contextlib
import os
import re
import zipfile

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hades.errors import DatasetFileError

VARIANTS = {"distill": "HaDES-R", "overfit": "HaDES-F"}
_RELEASED_NAME = re.compile(
    r"minatar_(?P<env>[A-Za-z]+-MinAtar)_D(?P<size>\d+)_(?P<variant>distill|overfit)"
    r"_seed(?P<seed>\d+)")
_REQUIRED = ("states", "labels", "n_actions", "bc_steps", "fixed_init_seed", "obs_mean",
             "obs_var")


def _read_npz(path: str) -> dict[str, np.ndarray]:
  if not os.path.isfile(path):
    raise DatasetFileError(f"file not found: {path}")
  try:
    with np.load(path, allow_pickle=False) as data:
      return {k: data[k] for k in data.files}
  except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
    raise DatasetFileError(f"cannot read {path}: {e}") from None


def is_released_file(path: str) -> bool:
  """Whether `path` (or the file it links to) is named like a released MinAtar dataset."""
  return bool(_RELEASED_NAME.search(os.path.basename(path))
              or _RELEASED_NAME.search(os.path.basename(os.path.realpath(path))))


def load_released(path: str) -> tuple[np.ndarray, np.ndarray, dict]:
  """Loads one released MinAtar dataset, keeping only the rows used in BC.

  Args:
    path: the .npz file (or a link to one) named `minatar_<Env>_D<n>_<variant>_seed<s>.npz`.

  Returns:
    states: [D_used, obs] float32 in normalised observation space.
    labels: [D_used] int32 action indices.
    info: dict with env_id, variant ('distill' | 'overfit'), method ('HaDES-R' | 'HaDES-F'),
      seed, dataset_size (D incl. unused rows), n_actions, bc_steps, fixed_init_seed (None for
      'distill'), obs_mean [obs], obs_var [obs], fitness_over_gen and max_fitness_over_gen
      [G] (None when absent), source (absolute path).

  Raises:
    DatasetFileError: missing, unreadable, misnamed or malformed file.
  """
  arrays = _read_npz(path)
  match = (_RELEASED_NAME.search(os.path.basename(path))
           or _RELEASED_NAME.search(os.path.basename(os.path.realpath(path))))
  if match is None:
    raise DatasetFileError(f"{path} is not named like a released MinAtar dataset "
                           "(minatar_<Env>-MinAtar_D<n>_<distill|overfit>_seed<s>.npz)")
  missing = [k for k in _REQUIRED if k not in arrays]
  if missing:
    raise DatasetFileError(f"{path} lacks arrays {missing}")
  states = np.asarray(arrays["states"], np.float32)
  labels = np.asarray(arrays["labels"])
  n_actions = int(arrays["n_actions"])
  obs_mean = np.asarray(arrays["obs_mean"], np.float32).reshape(-1)
  obs_var = np.asarray(arrays["obs_var"], np.float32).reshape(-1)
  if states.ndim != 2 or labels.shape != (states.shape[0],):
    raise DatasetFileError(f"{path}: states {states.shape} and labels {labels.shape} must be "
                           "[D, obs] and [D]")
  if obs_mean.shape != (states.shape[1],) or obs_var.shape != (states.shape[1],):
    raise DatasetFileError(f"{path}: obs_mean/obs_var {obs_mean.shape}/{obs_var.shape} do not "
                           f"match obs size {states.shape[1]}")
  if not np.issubdtype(labels.dtype, np.integer) or np.any(labels < -1) or np.any(
      labels >= n_actions) or n_actions < 1:
    raise DatasetFileError(f"{path}: labels must be integers in [-1, {n_actions})")
  used = labels >= 0
  if not np.any(used):
    raise DatasetFileError(f"{path}: no labelled states")
  if not np.all(np.isfinite(states[used])):
    raise DatasetFileError(f"{path}: states contain NaN or inf")
  fixed_seed = int(arrays["fixed_init_seed"])
  info = dict(
      env_id=match["env"], variant=match["variant"], method=VARIANTS[match["variant"]],
      seed=int(match["seed"]), dataset_size=int(states.shape[0]), n_actions=n_actions,
      bc_steps=int(arrays["bc_steps"]), fixed_init_seed=None if fixed_seed < 0 else fixed_seed,
      obs_mean=obs_mean, obs_var=obs_var,
      fitness_over_gen=arrays.get("fitness_over_gen"),
      max_fitness_over_gen=arrays.get("max_fitness_over_gen"),
      source=os.path.abspath(path))
  return states[used], labels[used].astype(np.int32), info


def load_fixed_init(path: str) -> dict:
  """Loads a fixed_init file as flax params {"params": {"Dense_i": {"kernel", "bias"}}}.

  Raises:
    DatasetFileError: missing, unreadable or incomplete file.
  """
  arrays = _read_npz(path)
  layers = {k.rsplit("_", 1)[0] for k in arrays}
  if not all(re.fullmatch(r"Dense_\d+", n) and f"{n}_kernel" in arrays and f"{n}_bias" in arrays
             for n in layers):
    raise DatasetFileError(f"{path}: unexpected arrays {sorted(arrays)}")
  params = {}
  for name in sorted(layers, key=lambda n: int(n.split("_")[1])):
    params[name] = {"kernel": jnp.asarray(arrays[f"{name}_kernel"], jnp.float32),
                    "bias": jnp.asarray(arrays[f"{name}_bias"], jnp.float32)}
  if not params:
    raise DatasetFileError(f"{path} holds no layers")
  return {"params": params}


class AuthorsMinAtarMLP(nn.Module):
  """The authors' MinAtar student: obs -> width ReLU -> width ReLU -> num_actions logits.

  Hidden kernels orthogonal(sqrt 2), output kernel orthogonal(0.01), zero biases.
  __call__: obs [..., obs] -> logits [..., num_actions].
  """

  num_actions: int
  width: int = 512

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    zeros = nn.initializers.constant(0.0)
    for _ in range(2):
      x = nn.Dense(self.width, kernel_init=nn.initializers.orthogonal(np.sqrt(2)),
                   bias_init=zeros)(x)
      x = nn.relu(x)
    return nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(0.01),
                    bias_init=zeros)(x)


def fixed_init_path(directory: str, env_id: str, key: int) -> str:
  return os.path.join(directory, f"minatar_{env_id}_fixed_init_key{key}.npz")


def init_authors_student(key: int | jax.Array, obs_dim: int, num_actions: int, width: int = 512,
                         partitionable: bool | None = False) -> dict:
  """`AuthorsMinAtarMLP.init(key, zeros((1, obs_dim)))` with the authors' random bit stream.

  jax >= 0.5 defaults to `jax_threefry_partitionable=True`, which draws different bits from
  the same key than the authors' jax 0.4.23; `partitionable=False` restores their stream
  (None: leave the global setting). Call eagerly (outside jit): the setting acts at trace time.

  Args:
    key: an int seed (legacy `PRNGKey`) or a PRNG key.

  Returns:
    flax params {"params": {"Dense_0": {"kernel" [obs, width], "bias" [width]}, ...}}.
  """
  rng = jax.random.PRNGKey(key) if isinstance(key, int) else key
  context = (contextlib.nullcontext() if partitionable is None
             else jax.threefry_partitionable(partitionable))
  with context:
    return AuthorsMinAtarMLP(num_actions, width).init(rng, jnp.zeros((1, obs_dim)))


def compare_student_init(fixed_init_file: str, key: int, key_style: str = "PRNGKey",
                         partitionable: bool | None = False) -> dict[str, float]:
  """Max |difference| per layer between today's `AuthorsMinAtarMLP.init` and a fixed_init file.

  Args:
    fixed_init_file: a `minatar_<Env>_fixed_init_key<k>.npz` file.
    key: the init key (420 + seed).
    key_style: 'PRNGKey' (legacy uint32 key) or 'threefry' (`jax.random.key(k,
      impl="threefry2x32")`).
    partitionable: see `init_authors_student`.

  Returns:
    {"Dense_i/kernel": max abs diff, "Dense_i/bias": ...}; inf for a shape mismatch.
  """
  reference = load_fixed_init(fixed_init_file)["params"]
  obs_dim, width = reference["Dense_0"]["kernel"].shape
  num_actions = reference[f"Dense_{len(reference) - 1}"]["kernel"].shape[1]
  rng = (jax.random.PRNGKey(key) if key_style == "PRNGKey"
         else jax.random.key(key, impl="threefry2x32"))
  params = init_authors_student(rng, obs_dim, num_actions, width, partitionable)["params"]
  diffs = {}
  for layer, leaves in reference.items():
    for leaf, ref in leaves.items():
      ours = np.asarray(params[layer][leaf])
      diffs[f"{layer}/{leaf}"] = (float(np.max(np.abs(ours - np.asarray(ref))))
                                  if ours.shape == ref.shape else float("inf"))
  return diffs


def authors_student_init_matches(env_id: str, seed: int, fixed_init_dir: str,
                                 atol: float = 1e-5, **kwargs) -> bool:
  """Whether today's init from key 420 + seed gives the authors' fixed student weights (up to
  `atol`: QR rounding differs across LAPACK builds by ~1e-6). kwargs: `compare_student_init`'s.
  """
  key = 420 + seed
  diffs = compare_student_init(fixed_init_path(fixed_init_dir, env_id, key), key, **kwargs)
  return all(d <= atol for d in diffs.values())
