"""Pictures of the discrete tasks: frames, GIFs and the dataset figure."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hades import drawing


def test_minatar_frame_colours_cells():
  obs = np.zeros((10, 10, 4), np.float32)
  obs[9, 4, 0] = 1.0  # Paddle.
  obs[3, 0, 1] = 0.5  # Half-intensity ball.
  image = drawing.minatar_frame(obs.reshape(-1), 4, cell=20)
  assert image.shape == (200, 200, 3) and image.dtype == np.uint8
  np.testing.assert_array_equal(image[9 * 20 + 10, 4 * 20 + 10], drawing.PALETTE[0])
  np.testing.assert_array_equal(image[5, 50], drawing.BACKGROUND)
  half = (np.asarray(drawing.BACKGROUND) + np.asarray(drawing.PALETTE[1])) / 2
  np.testing.assert_allclose(image[3 * 20 + 10, 10], half, atol=1)
  clipped = drawing.minatar_frame(np.full(400, 7.0), 4, channel_colors=[(1, 2, 3)] * 4, cell=2)
  assert clipped.shape == (20, 20, 3) and np.all(clipped[1, 1] == (1, 2, 3))
  with pytest.raises(ValueError):
    drawing.minatar_frame(np.zeros(399), 4)


def test_cartpole_and_acrobot_frames():
  upright = drawing.cartpole_frame(np.zeros(4))
  tilted = drawing.cartpole_frame(np.array([1.0, 0.0, 0.2, 0.0]))
  assert upright.shape == tilted.shape == (200, 320, 3) and upright.dtype == np.uint8
  assert not np.array_equal(upright, tilted)
  hanging = drawing.acrobot_frame(np.array([1.0, 0.0, 1.0, 0.0, 0.0, 0.0]))
  swung = drawing.acrobot_frame(np.array([0.0, 1.0, 1.0, 0.0, 0.0, 0.0]))
  assert hanging.shape == (240, 240, 3) and hanging.dtype == np.uint8
  assert not np.array_equal(hanging, swung)
  # Hanging down: the tip (2 links below the centre pivot) is drawn in the lower half only.
  assert np.any(hanging[200, 115:125] != drawing.BACKGROUND)
  assert np.all(hanging[30, 115:125] == drawing.BACKGROUND)


def test_save_gif_roundtrip(tmp_path):
  frames = np.stack([drawing.cartpole_frame(np.array([0.1 * t, 0, 0.05 * t, 0]))
                     for t in range(5)])
  path = tmp_path / "sub" / "cartpole.gif"
  drawing.save_gif(frames, str(path), fps=10)
  with Image.open(path) as image:
    assert image.n_frames == 5 and image.size == (320, 200)
  with pytest.raises(ValueError):
    drawing.save_gif(frames[0], str(path))


def _panels(fig, rows: int) -> list[list]:
  """The figure's axes (a subplot grid, row-major) as [rows][cols]."""
  axes = fig.axes
  cols = len(axes) // rows
  return [axes[r * cols:(r + 1) * cols] for r in range(rows)]


def test_minatar_dataset_figure_draws_each_state_under_its_action():
  """Hard labels: state i is drawn (un-normalised) in its action's row; soft labels: grouped by
  argmax with the label's probability in the caption."""
  rng = np.random.default_rng(0)
  states = rng.normal(size=(7, 400)).astype(np.float32)
  mean, var = np.full(400, 0.2, np.float32), np.full(400, 0.1, np.float32)
  labels = np.array([0, 0, 1, 1, 1, 2, 0])
  fig = drawing.minatar_dataset_figure(states, labels, 4, ["noop", "left", "right"],
                                       obs_mean=mean, obs_var=var,
                                       channel_names=["paddle", "ball", "trail", "brick"],
                                       title="t")
  grid = _panels(fig, 3)
  assert [row[0].get_ylabel() for row in grid] == ["noop", "left", "right"]
  raw = drawing.unnormalize(states, mean, var)
  for action, row in enumerate(grid):
    members = np.flatnonzero(labels == action)
    drawn = [ax for ax in row if ax.images]
    assert [ax.get_title() for ax in drawn] == [f"#{i}" for i in members]
    for ax, i in zip(drawn, members):
      np.testing.assert_array_equal(ax.images[0].get_array(),
                                    drawing.minatar_frame(raw[i], 4, cell=12))
  assert [t.get_text() for t in fig.legends[0].get_texts()] == ["paddle", "ball", "trail",
                                                                "brick"]
  logits = np.zeros((3, 4))
  logits[[0, 1, 2], [3, 0, 3]] = [np.log(3.0), np.log(3.0), 0.0]  # Rows 0, 1: p = 0.5.
  soft = drawing.minatar_dataset_figure(states[:3], logits, 4, ["a", "b", "c", "d"])
  titles = {ax.get_title() for ax in soft.axes if ax.images}
  assert titles == {"#0 p=0.50", "#1 p=0.50", "#2 p=0.25"}


def test_plot_minatar_dataset_writes_the_figure(tmp_path):
  path = tmp_path / "sub" / "d.png"
  drawing.plot_minatar_dataset(np.zeros((2, 400)), np.array([0, 1]), 4, ["a", "b"], str(path))
  with Image.open(path) as image:
    assert image.size[0] > 100 and image.size[1] > 100


def test_unnormalize_inverts_the_constant_statistics():
  mean, var = np.full(400, 0.2, np.float32), np.full(400, 0.1, np.float32)
  back = drawing.unnormalize(np.zeros((1, 400)), mean, var)
  np.testing.assert_allclose(back, 0.2)
  np.testing.assert_allclose(drawing.unnormalize(np.ones((1, 400)), mean, var),
                             0.2 + np.sqrt(0.1 + 1e-8), rtol=1e-6)
