"""The paper authors' released result pickles (`data_final.pkl`) as dataset files.

The authors (FLAIROx/behaviour-distillation, `results/ICLR/...`) pickled each run as a dict:
`config`, `es_config` (the run's settings), `state` (an evosax 0.1 `EvoState`: `mean` [N] is the
flat dataset, `best_member` [N] the best candidate seen), `fitness_over_gen` [G] (population mean
per generation), `max_fitness_over_gen` [G] (control tasks), `fitness` [P] (the last population),
for images `<DATASET>:train_accuracy` []. `read_pickle` loads one without evosax or any other
class (`RestrictedUnpickler`), `convert` makes it a dataset file.

Flat layouts of `state.mean` (evosax `ParameterReshaper` over a dict: jax flattens dict leaves in
sorted key order, each leaf row-major), from the authors' `policy_distillation/`:
- Brax (`distill_brax.py`, `init_params`): {"actions": [D, act], "states": [D, obs]}, so the
  actions come first, then the states.
- MinAtar (`distill_minatar.py`, `init_params` with `learn_labels` False): {"states": [D, obs]}
  only; the labels are the fixed balanced one-hots, action a for rows a*k .. a*k+k-1 with
  k = D // n_actions, and the D - k * n_actions rows left are never used (label -1).
- MNIST / FashionMNIST (`distill_dataset.py`, `init_params`, `init_es`, `learn_labels` False):
  {"images": [D, 1, 28, 28, 1]} in the [0, 1] pixel units of NORMALIZE=True (hades's units).
  `init_mode` 'mean' only sets the ES's starting point: the mean is warm-started AT the images
  (each class's mean over all 60000 training images / 255, k = D // 10 copies per class, in class
  order) and candidates are the images themselves, so `state.mean` is the images, not an offset
  from the class means. Labels: fixed one-hots in class order ([0]*k + [1]*k + ...).

Files (atomic): Brax and images in hades's format (`dataset.save`) with the released Brax
files' arrays, MinAtar in the released MinAtar format (`hades.minatar_files`); all keep
`config_json`, `es_config_json`, `flat_mean` [N], `flat_best_member` [N], `sigma`, `best_fitness`,
`gen_counter`, `final_population_fitness` [P], the fitness curves and `fixed_init_seed`
(HaDES-F's student init key OVERFIT_SEED, -1 for HaDES-R).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import types

import numpy as np

from hades import dataset as dataset_lib
from hades import files
from hades import gymnax_env
from hades import image_data
from hades.errors import InputError

PICKLE_NAME = "data_final.pkl"
# The paper's Brax envs: (obs size, action size), as in brax today and in the released files.
BRAX_SIZES = {"ant": (27, 8), "halfcheetah": (17, 6), "hopper": (11, 3), "humanoid": (244, 17),
              "humanoidstandup": (244, 17), "inverted_double_pendulum": (8, 1),
              "reacher": (11, 2), "walker2d": (17, 6)}
GAME_ACTIONS = {**{env: len(names) for env, names in gymnax_env.ACTION_NAMES.items()
                   if env.endswith("-MinAtar")}, "Pong-misc": 3}  # Game -> actions.
IMAGE_DATASETS = {"FashionMNIST": image_data.DEFAULT_DIR, "MNIST": "/usr/share/datasets/mnist"}
IMAGE_PIXELS = 28 * 28
NOT_A_DATASET = "ES on the policy's weights (no es_config.dataset_size): not a dataset"


class EvoState(types.SimpleNamespace):
  """An evosax 0.1 `EvoState` as plain attributes: mean [N], sigma [] or [N], best_member [N],
  best_fitness [], gen_counter [], opt_state (OpenES) or weights [P, 1] (SNES)."""


class OptState(types.SimpleNamespace):
  """An evosax 0.1 optimizer `OptState` as plain attributes: lrate [], m [N], v [N], ..."""


_NP_RECONSTRUCT = np.zeros(0).__reduce__()[0]  # numpy's own array re-constructor.


def _restore_array(fun, args, arr_state, aval_state) -> np.ndarray:
  """Stands in for `jax._src.array._reconstruct_array`: the numpy array a jax Array was pickled
  from (`fun(*args)` then `__setstate__(arr_state)`); `aval_state` (weak_type) is dropped."""
  del aval_state
  if fun is not _NP_RECONSTRUCT:
    raise pickle.UnpicklingError("a jax array must be rebuilt by numpy's _reconstruct")
  array = fun(*args)
  array.__setstate__(arr_state)
  return array


# Every global the released pickles reference (all 253 dataset and ES-baseline pickles of
# commit a600a5a checked), and what it becomes.
ALLOWED_GLOBALS = {
    ("evosax.strategies.open_es", "EvoState"): EvoState,
    ("evosax.strategies.snes", "EvoState"): EvoState,
    ("evosax.utils.optimizer", "OptState"): OptState,
    ("jax._src.array", "_reconstruct_array"): _restore_array,
    ("numpy.core.multiarray", "_reconstruct"): _NP_RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
  """Unpickles only what `ALLOWED_GLOBALS` names (no module imported, no other class built);
  any other global is an InputError naming the file and the global."""

  def __init__(self, file, path: str):
    super().__init__(file)
    self.path = path

  def find_class(self, module: str, name: str):
    try:
      return ALLOWED_GLOBALS[(module, name)]
    except KeyError:
      raise InputError(f"{self.path}: refused global {module}.{name} (only numpy arrays and "
                       "evosax 0.1 states are read from the authors' pickles)") from None


def read_pickle(path: str) -> dict:
  """One released pickle as a dict (`state` an EvoState, arrays as numpy arrays); InputError
  when it is unreadable, references a refused global or is not a run's record."""
  try:
    with open(path, "rb") as f:
      record = RestrictedUnpickler(f, path).load()
  except InputError:
    raise
  except Exception as e:  # noqa: BLE001  (a malformed pickle can fail in any way)
    raise InputError(f"cannot read {path}: {type(e).__name__}: {e}") from None
  state = record.get("state") if isinstance(record, dict) else None
  flat = [getattr(state, k, None) for k in ("mean", "best_member")]
  if not (isinstance(state, EvoState) and isinstance(record.get("fitness_over_gen"), list)
          and all(isinstance(f, np.ndarray) and f.ndim == 1 for f in flat)
          and all(isinstance(record.get(k), dict) for k in ("config", "es_config"))):
    raise InputError(f"{path}: not a run's record (a dict of an evosax EvoState 'state' with a "
                     "flat mean and best_member, 'config', 'es_config' and 'fitness_over_gen')")
  return record


@dataclasses.dataclass
class Conversion:
  """One pickle's dataset file, ready to write.

  Attributes:
    name: the file name (`brax_...`, `minatar_...`, `mnist_...`.npz).
    source: the pickle's path.
    arrays: the extra arrays (hades format) or all arrays (MinAtar format).
    dataset, info: hades-format files (Brax, images): states [D, obs], actions [D, act] and
      their `DatasetInfo`; None for MinAtar files.
    note: what to know before using the file with hades ("" when nothing).
  """

  name: str
  source: str
  arrays: dict
  dataset: dataset_lib.SyntheticDataset | None = None
  info: dataset_lib.DatasetInfo | None = None
  note: str = ""

  def write(self, path: str) -> None:
    """Writes the file atomically (`dataset.save`, or `files.atomic_path` for MinAtar)."""
    if self.info is not None:
      dataset_lib.save(path, self.dataset, self.info, **self.arrays)
      return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
      np.savez(f, **self.arrays)


def _jsonable(value):
  """A config value as JSON types (arrays as nested lists)."""
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, (np.ndarray, np.generic)):
    return value.tolist()
  return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def _curve(values, path: str, key: str) -> np.ndarray:
  """[G] float32 from the pickled list of per-generation scalars."""
  try:
    return np.asarray([np.asarray(v, np.float32).reshape(()) for v in values], np.float32)
  except (TypeError, ValueError) as e:
    raise InputError(f"{path}: {key} is not a list of numbers: {e}") from None


def _common_arrays(record: dict, path: str) -> dict[str, np.ndarray]:
  """The arrays every converted file keeps: run settings, ES state and fitness curves."""
  state, config = record["state"], record["config"]
  arrays = {
      "flat_mean": np.asarray(state.mean, np.float32),
      "fitness_over_gen": _curve(record["fitness_over_gen"], path, "fitness_over_gen"),
      "config_json": np.array(json.dumps(_jsonable(config))),
      "es_config_json": np.array(json.dumps(_jsonable(record["es_config"]))),
      "fixed_init_seed": np.int32(config.get("OVERFIT_SEED", 0) if config.get("OVERFIT")
                                  else -1),
  }
  for key, out, dtype in (("best_member", "flat_best_member", np.float32), ("sigma", "sigma",
                          np.float32), ("best_fitness", "best_fitness", np.float32),
                          ("gen_counter", "gen_counter", np.int32)):
    if getattr(state, key, None) is not None:
      arrays[out] = np.asarray(getattr(state, key), dtype)
  if "max_fitness_over_gen" in record:
    arrays["max_fitness_over_gen"] = _curve(record["max_fitness_over_gen"], path,
                                            "max_fitness_over_gen")
  if record.get("fitness") is not None:
    arrays["final_population_fitness"] = np.asarray(record["fitness"], np.float32)
  return arrays


def _rows(flat: np.ndarray, rows: int, path: str) -> np.ndarray:
  """flat [rows * n] -> [rows, n] row-major."""
  if rows < 1 or flat.ndim != 1 or flat.size % rows:
    raise InputError(f"{path}: a flat vector of {flat.size} cannot be {rows} rows")
  return flat.reshape(rows, -1)


def find_normalize_params(path: str) -> str | None:
  """The authors' `normalize_params` folder (beside `results/` in their repository): the one in
  the nearest ancestor folder of `path`, None when there is none."""
  directory = os.path.dirname(os.path.abspath(path))
  while not os.path.isdir(os.path.join(directory, "normalize_params")):
    if os.path.dirname(directory) == directory:
      return None
    directory = os.path.dirname(directory)
  return os.path.join(directory, "normalize_params")


def _obs_stats(config: dict, env: str, path: str) -> tuple[np.ndarray | None, np.ndarray | None]:
  """(obs_mean [obs], obs_var [obs]): the run config's (constant normalisation), else the
  `normalize_params/{mean,var}_<env>.npy` files found by `find_normalize_params`, else None."""
  if config.get("OBS_MEAN") is not None and config.get("OBS_VAR") is not None:
    return tuple(np.asarray(config[k], np.float32).reshape(-1) for k in ("OBS_MEAN", "OBS_VAR"))
  folder = find_normalize_params(path)
  names = [os.path.join(folder or "", f"{kind}_{env}.npy") for kind in ("mean", "var")]
  if folder is None or not all(os.path.isfile(n) for n in names):
    return None, None
  try:
    return tuple(np.asarray(np.load(n, allow_pickle=False), np.float32).reshape(-1)
                 for n in names)
  except (OSError, ValueError) as e:
    raise InputError(f"cannot read {names[0]} / {names[1]}: {e}") from None


def _run_fields(record: dict, path: str) -> tuple[int, str, int]:
  """(D, 'distill' | 'overfit', seed) of a run."""
  config, es = record["config"], record["es_config"]
  try:
    return (int(es["dataset_size"]), "overfit" if config.get("OVERFIT") else "distill",
            int(config["SEED"]))
  except (KeyError, TypeError, ValueError) as e:
    raise InputError(f"{path}: run settings lack dataset_size or SEED ({e})") from None


def _convert_brax(record: dict, path: str, env: str) -> Conversion:
  """Brax: flat mean = actions [D, act] then states [D, obs]; a hades-format file."""
  config, state = record["config"], record["state"]
  size, variant, seed = _run_fields(record, path)
  obs, act = BRAX_SIZES[env]
  if state.mean.size != size * (obs + act):
    raise InputError(f"{path}: mean has {state.mean.size} numbers, {env} D{size} needs "
                     f"{size * (act + obs)}")

  def split(flat):  # [D * (act + obs)] -> (states [D, obs], actions [D, act]).
    return (np.asarray(flat[size * act:], np.float32).reshape(size, obs),
            np.asarray(flat[:size * act], np.float32).reshape(size, act))

  arrays = _common_arrays(record, path)
  states, actions = split(state.mean)
  arrays["best_states"], arrays["best_actions"] = split(state.best_member)
  normalization = ("constant" if config.get("CONST_NORMALIZE_OBS") else
                   "running" if config.get("NORMALIZE_OBS") else "none")
  obs_mean, obs_var = _obs_stats(config, env, path)
  # The paper ran brax 0.9.4, whose IDP differs from today's (hades/paper_envs.py).
  task = {"inverted_double_pendulum": "inverted_double_pendulum_paper"}.get(env, env)
  info = dataset_lib.DatasetInfo(task=task, backend="positional", normalization=normalization,
                                 obs_mean=obs_mean, obs_var=obs_var,
                                 source=os.path.abspath(path), labels="learned")
  sweep = "sweep_D" in os.path.abspath(path).split(os.sep) or "sweep_D" in str(
      config.get("FOLDER", ""))
  note = ("HaDES-F: tuned to the one student init PRNGKey({}); hades trains fresh students"
          .format(config.get("OVERFIT_SEED")) if variant == "overfit" else "")
  return Conversion(f"brax_{'sweepD_' if sweep else ''}{env}_D{size}_{variant}_seed{seed}.npz",
                    path, arrays, dataset_lib.SyntheticDataset(states, actions), info, note)


def _convert_game(record: dict, path: str, env: str) -> Conversion:
  """MinAtar (and gymnax Pong-misc): flat mean = states [D, obs]; fixed balanced labels; the
  released MinAtar format (`hades.minatar_files`)."""
  config, es, state = record["config"], record["es_config"], record["state"]
  size, variant, seed = _run_fields(record, path)
  n_actions = GAME_ACTIONS[env]
  k = size // n_actions
  if k < 1:
    raise InputError(f"{path}: D={size} is smaller than {env}'s {n_actions} actions")
  labels = np.full(size, -1, np.int32)
  labels[:k * n_actions] = np.repeat(np.arange(n_actions, dtype=np.int32), k)
  width, generations = int(config.get("WIDTH", 512)), int(es.get("n_generations", 2000))
  greedy = bool(config.get("GREEDY_ACT", False))
  arrays = {
      "states": _rows(np.asarray(state.mean, np.float32), size, path), "labels": labels,
      "n_actions": np.int32(n_actions), "width": np.int32(width), "greedy_act": np.bool_(greedy),
      "bc_steps": np.int32(config.get("UPDATE_EPOCHS", config.get("NUM_UPDATES", 0))),
      "best_states": _rows(np.asarray(state.best_member, np.float32), size, path),
      "source": np.array(os.path.abspath(path))}
  arrays.update(_common_arrays(record, path))
  obs_mean, obs_var = _obs_stats(config, env, path)
  if config.get("CONST_NORMALIZE_OBS") and obs_mean is not None:
    arrays["obs_mean"], arrays["obs_var"] = obs_mean, obs_var
  tags = "".join(t for t, on in ((f"_gen{generations}", generations != 2000),
                                 (f"_width{width}", width != 512), ("_greedy", greedy)) if on)
  note = "; ".join(n for n, on in (
      (f"hades has no {env} task with constant normalisation: not loadable by hades",
       env not in gymnax_env.GYMNAX_IDS.values() or "obs_mean" not in arrays),
      (f"student width {width}: evaluate with --student_width={width}", width != 512),
      ("the authors evaluated it with greedy actions; hades samples them", greedy)) if on)
  return Conversion(f"minatar_{env}_D{size}_{variant}_seed{seed}{tags}.npz", path, arrays,
                    note=note)


def _convert_images(record: dict, path: str, name: str) -> Conversion:
  """MNIST / FashionMNIST: flat mean = the images [k * 10, 28 * 28] (not an offset from the
  class means, see the module docstring); fixed one-hot labels; a hades-format file for the
  fashion_mnist task (the paper's CNN student)."""
  config, state = record["config"], record["state"]
  size, variant, seed = _run_fields(record, path)
  labels = dataset_lib.fixed_labels(size, 10)  # [k * 10, 10], class order.
  scale = 1.0 if config.get("NORMALIZE", True) else 1.0 / 255.0  # To [0, 1] pixel units.

  def images(flat):
    rows = _rows(np.asarray(flat, np.float32), labels.shape[0], path)
    if rows.shape[1] != IMAGE_PIXELS:
      raise InputError(f"{path}: images of {rows.shape[1]} pixels, expected {IMAGE_PIXELS}")
    return rows * np.float32(scale)

  arrays = _common_arrays(record, path)
  arrays["best_states"] = images(state.best_member)
  accuracy = record.get(f"{name}:train_accuracy")
  if accuracy is not None:
    arrays["authors_train_accuracy"] = np.asarray(accuracy, np.float32)
  info = dataset_lib.DatasetInfo(task="fashion_mnist", normalization="none", labels="fixed",
                                 data_dir=IMAGE_DATASETS[name], source=os.path.abspath(path))
  note = ("" if name == "FashionMNIST" else f"scored as the fashion_mnist task (same CNN "
          f"student); its data_dir {IMAGE_DATASETS[name]} must hold {name}'s IDX files, or "
          "pass --data_dir")
  return Conversion(f"mnist_{name}_D{size}_{variant}_seed{seed}.npz", path, arrays,
                    dataset_lib.SyntheticDataset(images(state.mean), labels), info, note)


def convert(record: dict, path: str) -> Conversion | None:
  """The dataset file of one run's record (`read_pickle`), None for a run that evolved no
  dataset (the ES-on-weights baselines, `NOT_A_DATASET`); InputError for an unknown env or
  dataset, learned labels, or arrays of the wrong size."""
  config, es = record["config"], record["es_config"]
  if "dataset_size" not in es:
    return None
  if es.get("learn_labels"):  # Discrete tasks only; the release has none.
    raise InputError(f"{path}: learned labels are not supported (only fixed one-hots)")
  if "DATASET" in config:
    if config["DATASET"] not in IMAGE_DATASETS:
      raise InputError(f"{path}: unsupported DATASET {config['DATASET']!r}; known: "
                       f"{sorted(IMAGE_DATASETS)}")
    return _convert_images(record, path, config["DATASET"])
  env = str(config.get("ENV_NAME"))
  if env in BRAX_SIZES:
    return _convert_brax(record, path, env)
  if env in GAME_ACTIONS:
    return _convert_game(record, path, env)
  raise InputError(f"{path}: unknown ENV_NAME {env!r}; known: {sorted(BRAX_SIZES)} and "
                   f"{sorted(GAME_ACTIONS)}")


def find_pickles(results: str) -> list[str]:
  """Every `data_final.pkl` under `results` (a folder, or one such file), sorted; InputError
  when there is none."""
  if os.path.isfile(results) and os.path.basename(results) == PICKLE_NAME:
    return [results]
  if not os.path.isdir(results):
    raise InputError(f"--results {results} is not a directory")
  found = [os.path.join(root, PICKLE_NAME) for root, _, names in sorted(os.walk(results))
           if PICKLE_NAME in names]
  if not found:
    raise InputError(f"no {PICKLE_NAME} under {results}")
  return found


def plan(results: str) -> tuple[list[Conversion], list[str]]:
  """Reads and converts every pickle under `results` before anything is written.

  Returns:
    (conversions, skipped): the files to write, and the pickles that hold no dataset.

  Raises:
    InputError: no pickle, an unreadable or refused one, or two runs with one file name.
  """
  conversions, skipped, sources = [], [], {}
  for path in find_pickles(results):
    conversion = convert(read_pickle(path), path)
    if conversion is None:
      skipped.append(path)
      continue
    if conversion.name in sources:
      raise InputError(f"{sources[conversion.name]} and {path} would both become "
                       f"{conversion.name}")
    sources[conversion.name] = path
    conversions.append(conversion)
  return conversions, skipped
