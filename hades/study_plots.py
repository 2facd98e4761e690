"""Plots of a study (`hades.study`): learning curves with seed bands, return vs D, and the
transfer heat-maps of HaDES-R and HaDES-F datasets. Each `*_figure` returns the figure; each
`plot_*` writes it as one PNG."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hades import files  # noqa: E402


# The studies' series names of the two methods, as the legends spell them.
METHOD_LABELS = {"HaDES": "HaDES (dataset)", "params": "ES on the weights"}


def _stack(curves: list[dict], x_key: str) -> tuple[np.ndarray, np.ndarray]:
  """Seeds' curves cut to their common length: x [T] (mean over seeds), returns [seeds, T]."""
  length = min(len(c["return"]) for c in curves)
  xs = np.asarray([c[x_key][:length] for c in curves], np.float64)
  ys = np.asarray([c["return"][:length] for c in curves], np.float64)
  return xs.mean(axis=0), ys


def _save(fig, path: str, **kwargs) -> None:
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=110, **kwargs)
  plt.close(fig)


def plot_curves(task: str, series_curves: dict[str, list[dict]], path: str) -> None:
  _save(curves_figure(task, series_curves), path)


def plot_dataset_size(task: str, rows: dict[str, dict], paper: dict | None, path: str) -> None:
  _save(dataset_size_figure(task, rows, paper), path)


def plot_student_width(task: str, rows: dict[str, dict], path: str) -> None:
  _save(student_width_figure(task, rows), path)


def plot_transfer(task: str, rows: dict[str, dict], path: str) -> None:
  """Writes `transfer_figure` (nothing when no row has transfer scores)."""
  fig = transfer_figure(task, rows)
  if fig is not None:
    _save(fig, path, bbox_inches="tight")


def curves_figure(task: str, series_curves: dict[str, list[dict]]) -> plt.Figure:
  """Best-validated return vs env steps and vs wall time, one line per series (mean over
  seeds) with a band from the worst to the best seed."""
  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  for ax, x_key, label in ((axes[0], "env_steps", "env steps"),
                           (axes[1], "wall_time", "wall time (s)")):
    for series, curves in series_curves.items():
      curves = [c for c in curves if c["return"]]
      if not curves:
        continue
      x, ys = _stack(curves, x_key)
      line, = ax.plot(x, ys.mean(axis=0), label=f"{series} ({len(curves)} seeds)")
      ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel(label)
    ax.set_ylabel("best-validated return")
    ax.grid(alpha=0.3)
  axes[0].legend()
  fig.suptitle(f"{task}: HaDES vs ES on the weights (band: min..max over seeds)")
  fig.tight_layout()
  return fig


def dataset_size_figure(task: str, rows: dict[str, dict], paper: dict | None) -> plt.Figure:
  """Final return (mean +- standard error over seeds) against D, with the paper's files."""
  fig, ax = plt.subplots(figsize=(6, 4))
  points = sorted((row["x"], row["mean"], row["stderr"]) for row in rows.values())
  if points:
    x, y, e = map(np.asarray, zip(*points))
    ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label="hades (this run)")
  if paper:
    items = sorted((int(d), s["mean"], s["stderr"]) for d, s in paper.items())
    x, y, e = map(np.asarray, zip(*items))
    ax.errorbar(x, y, yerr=e, marker="s", capsize=3, label="paper's released files")
  ax.set_xscale("log", base=2)
  ax.set_xlabel("dataset size D")
  ax.set_ylabel("fresh students' return")
  ax.set_title(f"{task}: return vs dataset size")
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  return fig


def student_width_figure(task: str, rows: dict[str, dict]) -> plt.Figure:
  """Final return (mean +- standard error over seeds) against the student's width, one line
  per method; rows are named '<method>_w<width>' with x = the width."""
  fig, ax = plt.subplots(figsize=(6, 4))
  methods = dict.fromkeys(series.rsplit("_w", 1)[0] for series in rows)
  for method, marker in zip(methods, "os^v"):
    points = sorted((row["x"], row["mean"], row["stderr"]) for series, row in rows.items()
                    if series.rsplit("_w", 1)[0] == method)
    x, y, e = map(np.asarray, zip(*points))
    ax.errorbar(x, y, yerr=e, marker=marker, capsize=3, label=METHOD_LABELS.get(method, method))
  ax.set_xscale("log", base=2)
  ax.set_xlabel("student width (units per hidden layer)")
  ax.set_ylabel("fresh students' return")
  ax.set_title(f"{task}: return vs student width, at equal env steps")
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  return fig


def transfer_figure(task: str, rows: dict[str, dict]) -> plt.Figure | None:
  """One heat-map per mode: rows are the student fields changed, cells the return of students
  with that value (colour: relative to the run's own student)."""
  modes = [m for m, row in rows.items() if row.get("transfer")]
  if not modes:
    return None
  variants = [v for v in rows[modes[0]]["transfer"] if v != "own"]
  fields = list(dict.fromkeys(v.split("=")[0] for v in variants))
  width = max(sum(v.startswith(f + "=") for v in variants) for f in fields)
  fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 0.7 * len(fields) + 1.8),
                           squeeze=False, gridspec_kw={"wspace": 0.6})
  for ax, mode in zip(axes[0], modes):
    transfer = rows[mode]["transfer"]
    own = transfer.get("own", {}).get("mean", math.nan)
    ratio = np.full((len(fields), width), np.nan)
    for i, field in enumerate(fields):
      for j, variant in enumerate(v for v in variants if v.startswith(field + "=")):
        value = transfer.get(variant, {}).get("mean", math.nan)
        ratio[i, j] = value / own if own else math.nan
        ax.text(j, i, f"{variant.split('=')[1]}\n{value:.0f}", ha="center", va="center",
                fontsize=8)
    image = ax.imshow(ratio, cmap="viridis", vmin=0.0, vmax=1.2, aspect="auto")
    ax.set_yticks(range(len(fields)), fields)
    ax.set_xticks([])
    ax.set_title(f"{mode} (own student {own:.0f})")
  fig.colorbar(image, ax=axes[0].tolist(), label="return / own student's")
  fig.suptitle(f"{task}: datasets scored by other students")
  return fig
