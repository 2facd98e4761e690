"""The transfer report as a picture: returns on each task of every dataset and the generalist."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hades import files  # noqa: E402


def plot_transfer(report: dict, path: str) -> None:
  """Heat-map of returns on each task (rows) of students trained on each task's dataset, of the
  generalist and of the generalist with a wrong task id (columns), relative to the specialist.

  `report` is multitask's transfer report: cross_task[target][source] and per_task[target].
  """
  names = report["tasks"]
  columns = [f"dataset: {n}" for n in names] + ["generalist", "generalist, wrong id"]
  raw = np.array([[report["cross_task"][t][s] for s in names]
                  + [report["per_task"][t]["generalist"], report["per_task"][t]["wrong_task_id"]]
                  for t in names], np.float64)
  specialist = np.array([report["per_task"][t]["specialist"] for t in names], np.float64)
  rel = raw / np.where(np.abs(specialist) > 1e-9, specialist, np.nan)[:, None]
  fig, ax = plt.subplots(figsize=(1.6 * len(columns) + 2.0, 0.9 * len(names) + 1.8), dpi=100)
  im = ax.imshow(rel, cmap="viridis", vmin=0.0, vmax=max(1.2, float(np.nanmax(rel))))
  ax.set_xticks(range(len(columns)), columns, rotation=25, ha="right", fontsize=8)
  ax.set_yticks(range(len(names)), [f"on {n}" for n in names], fontsize=8)
  for (i, j), v in np.ndenumerate(raw):
    # NaN: a dataset of another action kind (discrete vs continuous), not transplanted.
    text = "n/a\n(other\naction kind)" if np.isnan(v) else f"{v:.0f}\n({rel[i, j]:.2f})"
    ax.text(j, i, text, ha="center", va="center", fontsize=7,
            color="white" if (np.isnan(rel[i, j]) or rel[i, j] < 0.6) else "black")
  fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="return / specialist's return")
  ax.set_title("task transfer: return (relative to the task's own dataset)", fontsize=9)
  fig.tight_layout()
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp)
  plt.close(fig)
