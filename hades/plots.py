"""Pictures of runs: fitness curves and the distilled dataset itself (matplotlib, PNG)."""

from __future__ import annotations


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hades import files  # noqa: E402


# Observation feature names of the planar tasks (MuJoCo/Gym order; Brax uses the same layout).
_PLANAR = ["rootz", "rooty"]
FEATURE_NAMES = {
    "hopper": _PLANAR + ["thigh", "leg", "foot"] + ["vel_" + n for n in
                                                     ["rootx", "rootz", "rooty", "thigh", "leg",
                                                      "foot"]],
    "walker2d": _PLANAR + ["thigh", "leg", "foot", "thigh_l", "leg_l", "foot_l"]
                + ["vel_" + n for n in ["rootx", "rootz", "rooty", "thigh", "leg", "foot",
                                        "thigh_l", "leg_l", "foot_l"]],
    "halfcheetah": ["rootz", "rooty", "bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"]
                   + ["vel_" + n for n in ["rootx", "rootz", "rooty", "bthigh", "bshin",
                                           "bfoot", "fthigh", "fshin", "ffoot"]],
}
ACTION_NAMES = {
    "hopper": ["thigh", "leg", "foot"],
    "walker2d": ["thigh", "leg", "foot", "thigh_l", "leg_l", "foot_l"],
    "halfcheetah": ["bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"],
}


def read_metrics(path: str) -> dict[str, np.ndarray]:
  """metrics.jsonl -> {key: [G] array} (rows in file order; NaN where a row lacks a key, e.g.
  validation/return between validations)."""
  rows = files.read_jsonl(path)
  keys = list(dict.fromkeys(k for row in rows for k in row))
  return {k: np.asarray([r.get(k, np.nan) for r in rows], np.float64) for k in keys}


def plot_fitness(metrics: dict[str, np.ndarray], task: str, path: str) -> None:
  """Writes `fitness_figure` as a PNG."""
  _save(fitness_figure(metrics, task), path)


def _save(fig: plt.Figure, path: str) -> None:
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp)
  plt.close(fig)


def fitness_figure(metrics: dict[str, np.ndarray], task: str) -> plt.Figure:
  """Population mean (+- std), max and best-so-far fitness over generations, and the ES mean's
  validation returns with the best-validated one (the dataset a run writes). Lines, in order:
  mean, max, best so far, then (with validation) the best-validated step line; the validated
  returns are an errorbar container."""
  g = metrics["generation"]
  fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
  mean, std = metrics["fitness/mean"], metrics["fitness/std"]
  ax.plot(g, mean, label="population mean", color="C0")
  ax.fill_between(g, mean - std, mean + std, color="C0", alpha=0.2, linewidth=0)
  ax.plot(g, metrics["fitness/max"], label="population max", color="C1", linewidth=1)
  ax.plot(g, metrics["fitness/best"], label="best candidate so far", color="C2", linestyle="--")
  if "validation/return" in metrics:
    validated = np.isfinite(metrics["validation/return"])
    spread = metrics.get("validation/std", np.zeros_like(g))[validated]
    ax.errorbar(g[validated], metrics["validation/return"][validated], yerr=spread, fmt="o",
                markersize=3, linewidth=0.8, color="C3", label="ES mean, validated (+- std)")
    # Older runs logged only validation/best (the selected mean's return).
    selected = metrics.get("validation/best_return", metrics["validation/best"])
    ax.step(g[validated], selected[validated], where="post", color="C3", linewidth=1.5,
            label="best-validated mean (the dataset)")
  ax.set(xlabel="generation", ylabel="return of students trained on the dataset",
         title=f"HaDES on {task}")
  ax.grid(alpha=0.3)
  ax.legend(loc="lower right")
  fig.tight_layout()
  return fig


def _names(table, task, n, prefix):
  names = table.get(task)
  return names if names is not None and len(names) == n else [f"{prefix}{i}" for i in range(n)]


def plot_dataset(states: np.ndarray, actions: np.ndarray, task: str, path: str) -> None:
  """Writes `dataset_figure(states, actions, task)` to `path` (PNG)."""
  _save(dataset_figure(states, actions, task), path)


def dataset_figure(states: np.ndarray, actions: np.ndarray, task: str) -> plt.Figure:
  """The distilled dataset as two heat-maps: states [D, obs] and their action labels [D, act].

  Rows are the D data points; states are in the student's normalised units.
  """
  d, obs = states.shape
  act = actions.shape[1]
  fig, (ax_s, ax_a) = plt.subplots(
      1, 2, figsize=(max(6.4, 0.45 * (obs + act) + 2.5), max(2.5, 0.35 * d + 1.8)), dpi=100,
      gridspec_kw={"width_ratios": [obs, act]})
  for ax, data, names, title, cmap in (
      (ax_s, states, _names(FEATURE_NAMES, task, obs, "s"), "states (normalised)", "RdBu_r"),
      (ax_a, actions, _names(ACTION_NAMES, task, act, "a"), "actions", "PuOr_r")):
    lim = float(np.max(np.abs(data))) or 1.0
    im = ax.imshow(data, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
    ax.set_yticks(range(d), [str(i) for i in range(d)] if d <= 32 else [""] * d, fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    if d <= 16 and data.shape[1] <= 12:
      for (i, j), v in np.ndenumerate(data):
        ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=6)
  ax_s.set_ylabel("data point")
  fig.suptitle(f"distilled {task} dataset: {d} state-action pairs", fontsize=10)
  fig.tight_layout()
  return fig
