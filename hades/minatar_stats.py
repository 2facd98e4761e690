"""Constant observation statistics of the MinAtar games, as the paper's authors used them.

`data/minatar_obs_stats.npz` packages the authors' `normalize_params/{mean,var}_<Env>.npy`
(keys `mean_<Env>` and `var_<Env>`), flattened row-major like the observations.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from hades.errors import ConfigError

STATS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                          "minatar_obs_stats.npz")


@functools.lru_cache(maxsize=None)
def _all_stats() -> dict[str, np.ndarray]:
  with np.load(STATS_FILE, allow_pickle=False) as data:
    return {k: np.asarray(data[k], np.float32) for k in data.files}


def games_with_stats() -> tuple[str, ...]:
  """gymnax ids of the games that have packaged statistics."""
  return tuple(sorted(k[len("mean_"):] for k in _all_stats() if k.startswith("mean_")))


def load_obs_stats(env_id: str) -> tuple[np.ndarray, np.ndarray]:
  """Returns (mean [obs], var [obs]) float32 for a MinAtar game, e.g. 'Breakout-MinAtar'.

  Raises:
    ConfigError: no statistics are packaged for `env_id`.
  """
  stats = _all_stats()
  if f"mean_{env_id}" not in stats:
    raise ConfigError(f"no observation statistics for {env_id!r}; available: "
                      f"{', '.join(games_with_stats())}")
  return stats[f"mean_{env_id}"].copy(), stats[f"var_{env_id}"].copy()
