"""Plots read metrics.jsonl whose rows carry different keys (validation rows)."""

import json

import numpy as np

from hades import plots


def test_read_metrics_keeps_keys_that_only_later_rows_have(tmp_path):
  path = tmp_path / "metrics.jsonl"
  rows = [{"generation": 1, "fitness/mean": 1.0},
          {"generation": 2, "fitness/mean": 2.0, "validation/return": 5.0}]
  path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
  metrics = plots.read_metrics(str(path))
  np.testing.assert_array_equal(metrics["generation"], [1, 2])
  np.testing.assert_array_equal(metrics["validation/return"], [np.nan, 5.0])


def test_fitness_plot_draws_the_validation_curve(tmp_path):
  g = np.arange(1, 21, dtype=np.float64)
  validated = np.where(g % 10 == 0, g * 10.0, np.nan)
  metrics = {"generation": g, "fitness/mean": g, "fitness/std": g * 0 + 1,
             "fitness/max": g + 1, "fitness/best": g + 2, "validation/return": validated,
             "validation/best": np.fmax.accumulate(np.nan_to_num(validated, nan=-np.inf))}
  fig = plots.fitness_figure(metrics, "hopper")
  (ax,) = fig.axes
  mean, top, best, selected = ax.lines[:4]
  np.testing.assert_array_equal(mean.get_ydata(), g)
  np.testing.assert_array_equal(top.get_ydata(), g + 1)
  np.testing.assert_array_equal(best.get_ydata(), g + 2)
  # The validated means (generations 10 and 20) and the best-validated step line through them.
  points = [c for c in ax.containers if hasattr(c, "lines")][0].lines[0]
  np.testing.assert_array_equal(points.get_xdata(), [10, 20])
  np.testing.assert_array_equal(points.get_ydata(), [100, 200])
  np.testing.assert_array_equal(selected.get_ydata(), [100, 200])
  path = tmp_path / "fitness.png"
  plots.plot_fitness(metrics, "hopper", str(path))
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dataset_figure_shows_the_states_and_actions():
  """Two heat-maps: the states [D, obs] with the task's feature names, the actions [D, act];
  each on a colour scale symmetric about zero."""
  rng = np.random.default_rng(0)
  states, actions = rng.normal(size=(4, 11)), rng.normal(size=(4, 3))
  fig = plots.dataset_figure(states, actions, "hopper")
  ax_s, ax_a = fig.axes[:2]
  np.testing.assert_array_equal(ax_s.images[0].get_array(), states)
  np.testing.assert_array_equal(ax_a.images[0].get_array(), actions)
  lim = np.abs(actions).max()
  assert ax_a.images[0].get_clim() == (-lim, lim)
  labels = [t.get_text() for t in ax_s.get_xticklabels()]
  assert len(labels) == 11 and labels == plots._names(plots.FEATURE_NAMES, "hopper", 11, "s")
  assert "4 state-action pairs" in fig.get_suptitle()
