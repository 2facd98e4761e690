"""Pictures for the discrete (gymnax) tasks, drawn from observations alone (PIL, matplotlib).

MinAtar observations are (10, 10, C) grids of channel intensities, flattened row-major
(flat index = (row * 10 + col) * C + channel); each channel is drawn in its own colour.
CartPole and Acrobot frames are line drawings reconstructed from the observation vector.
"""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patches  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from hades import files  # noqa: E402

BACKGROUND = (18, 18, 28)
GRID_LINE = (45, 45, 60)
# Distinct colours for up to 10 channels (tab10-like, brightened for a dark background).
PALETTE = ((255, 190, 60), (90, 170, 255), (120, 220, 120), (240, 90, 90), (190, 140, 255),
           (255, 140, 200), (160, 220, 230), (220, 220, 120), (255, 255, 255), (140, 255, 190))
_EPS = 1e-8


def _grid(obs_flat: np.ndarray, num_channels: int) -> np.ndarray:
  """[side * side * C] -> [side, side, C]."""
  obs = np.asarray(obs_flat, np.float32).reshape(-1)
  side = math.isqrt(obs.size // num_channels)
  if side * side * num_channels != obs.size:
    raise ValueError(f"observation of size {obs.size} is not a square grid of "
                     f"{num_channels} channels")
  return obs.reshape(side, side, num_channels)


def minatar_frame(obs_flat, num_channels: int, channel_colors=None,
                  cell: int = 20) -> np.ndarray:
  """Draws a MinAtar observation.

  Args:
    obs_flat: [side * side * C] channel intensities (values are clipped to [0, 1]).
    num_channels: C.
    channel_colors: C RGB triples (0-255); default PALETTE.
    cell: pixels per grid cell.

  Returns:
    uint8 RGB image [side * cell, side * cell, 3]; channels are blended onto a dark background
    from the last to the first (channel 0 on top), each with opacity equal to its intensity.
  """
  grid = np.clip(_grid(obs_flat, num_channels), 0.0, 1.0)
  colors = np.asarray(channel_colors or PALETTE[:num_channels], np.float32)
  if colors.shape != (num_channels, 3):
    raise ValueError(f"need {num_channels} RGB colours, got shape {colors.shape}")
  side = grid.shape[0]
  image = np.broadcast_to(np.asarray(BACKGROUND, np.float32), (side, side, 3)).copy()
  for c in reversed(range(num_channels)):  # Channel 0 (usually the agent) ends on top.
    alpha = grid[:, :, c:c + 1]
    image = image * (1.0 - alpha) + colors[c] * alpha
  image = np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)
  if cell >= 4:  # Thin cell borders.
    image[::cell, :] = GRID_LINE
    image[:, ::cell] = GRID_LINE
  return np.round(image).astype(np.uint8)


def cartpole_frame(obs, width: int = 320, height: int = 200,
                   x_threshold: float = 2.4) -> np.ndarray:
  """Draws CartPole from obs [4] = (x, x_dot, theta, theta_dot); theta 0 = upright.

  Returns:
    uint8 RGB image [height, width, 3].
  """
  x, _, theta, _ = (float(v) for v in np.asarray(obs, np.float32).reshape(4))
  image = Image.new("RGB", (width, height), BACKGROUND)
  draw = ImageDraw.Draw(image)
  scale = width / (2 * x_threshold * 1.1)
  track_y = int(height * 0.75)
  draw.line([(0, track_y), (width, track_y)], fill=GRID_LINE, width=2)
  for edge in (-x_threshold, x_threshold):  # Limits of the track.
    ex = width / 2 + edge * scale
    draw.line([(ex, track_y - 8), (ex, track_y + 8)], fill=(240, 90, 90), width=2)
  cx = width / 2 + x * scale
  cart_w, cart_h = 0.5 * scale, 0.3 * scale
  draw.rectangle([cx - cart_w / 2, track_y - cart_h / 2, cx + cart_w / 2, track_y + cart_h / 2],
                 fill=PALETTE[1])
  pole = 2 * 0.5 * scale  # Full pole length (gym: 2 * half-length 0.5).
  top = (cx + pole * math.sin(theta), track_y - pole * math.cos(theta))
  draw.line([(cx, track_y), top], fill=PALETTE[0], width=max(2, int(0.1 * scale)))
  draw.ellipse([cx - 3, track_y - 3, cx + 3, track_y + 3], fill=PALETTE[8])
  return np.asarray(image, np.uint8)


def acrobot_frame(obs, size: int = 240) -> np.ndarray:
  """Draws Acrobot from obs [6] = (cos t1, sin t1, cos t2, sin t2, dt1, dt2); t1 = t2 = 0 hangs
  straight down. The line above the pivot is the goal height the tip must pass.

  Returns:
    uint8 RGB image [size, size, 3].
  """
  c1, s1, c2, s2 = (float(v) for v in np.asarray(obs, np.float32).reshape(6)[:4])
  c12, s12 = c1 * c2 - s1 * s2, s1 * c2 + c1 * s2  # cos / sin of t1 + t2.
  image = Image.new("RGB", (size, size), BACKGROUND)
  draw = ImageDraw.Draw(image)
  scale = size / 4.4  # Two unit links reach 2 from the pivot at the centre.

  def to_px(px, py):  # World (x right, y up) -> image pixels.
    return size / 2 + px * scale, size / 2 - py * scale

  draw.line([to_px(-2.2, 1.0), to_px(2.2, 1.0)], fill=GRID_LINE, width=2)
  joint = (s1, -c1)
  tip = (joint[0] + s12, joint[1] - c12)
  draw.line([to_px(0, 0), to_px(*joint)], fill=PALETTE[1], width=6)
  draw.line([to_px(*joint), to_px(*tip)], fill=PALETTE[0], width=6)
  for point in ((0, 0), joint):
    px, py = to_px(*point)
    draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=PALETTE[8])
  return np.asarray(image, np.uint8)


def pendulum_frame(obs, size: int = 240) -> np.ndarray:
  """Draws Pendulum from obs [3] = (cos t, sin t, dt); t = 0 is upright (the goal).

  Returns:
    uint8 RGB image [size, size, 3].
  """
  c, s = (float(v) for v in np.asarray(obs, np.float32).reshape(3)[:2])
  image = Image.new("RGB", (size, size), BACKGROUND)
  draw = ImageDraw.Draw(image)
  centre, length = size / 2, size * 0.4
  tip = (centre + s * length, centre - c * length)
  draw.line([(centre, centre - length), (centre, centre - length * 1.1)], fill=GRID_LINE,
            width=2)
  draw.line([(centre, centre), tip], fill=PALETTE[1], width=8)
  draw.ellipse([centre - 5, centre - 5, centre + 5, centre + 5], fill=PALETTE[8])
  return np.asarray(image, np.uint8)


def unnormalize(states, obs_mean, obs_var) -> np.ndarray:
  """states [..., obs] in normalised space -> raw observation units."""
  return (np.asarray(states, np.float32) * np.sqrt(np.asarray(obs_var, np.float32) + _EPS)
          + np.asarray(obs_mean, np.float32))


def plot_minatar_dataset(states, labels, num_channels: int, action_names, path: str,
                         **kwargs) -> None:
  """Writes `minatar_dataset_figure(states, labels, num_channels, action_names, **kwargs)` to
  `path` (PNG)."""
  _save(minatar_dataset_figure(states, labels, num_channels, action_names, **kwargs), path)


def _save(fig, path: str) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with files.atomic_path(path) as tmp:
    fig.savefig(tmp, dpi=100)
  plt.close(fig)


def minatar_dataset_figure(states, labels, num_channels: int, action_names, obs_mean=None,
                           obs_var=None, channel_names=None, channel_colors=None,
                           title: str | None = None) -> plt.Figure:
  """The dataset figure: one panel per state, one row per action label.

  Args:
    states: [D, obs] states in normalised space (un-normalised with obs_mean/obs_var when
      given), drawn as channel intensities clipped to [0, 1].
    labels: [D] int action indices, or [D, A] soft labels (grouped by argmax; the panel shows
      the label's probability).
    num_channels: C of the (10, 10, C) grid.
    action_names: A names, one per action.
    channel_names: C names for the legend (optional).
  """
  states = np.asarray(states, np.float32)
  if obs_mean is not None and obs_var is not None:
    states = unnormalize(states, obs_mean, obs_var)
  labels = np.asarray(labels)
  probs = None
  if labels.ndim == 2:
    labels = labels.astype(np.float32)
    if np.all(labels >= 0) and np.allclose(labels.sum(-1), 1.0, atol=1e-3):
      probs = labels
    else:  # Logits.
      probs = np.exp(labels - labels.max(-1, keepdims=True))
      probs /= probs.sum(-1, keepdims=True)
    labels = np.argmax(labels, axis=-1)
  labels = labels.astype(np.int64)
  num_actions = len(action_names)
  groups = [np.flatnonzero(labels == a) for a in range(num_actions)]
  cols = max(1, max(len(g) for g in groups))
  fig, axes = plt.subplots(num_actions, cols, figsize=(1.6 * cols + 1.2, 1.7 * num_actions),
                           squeeze=False)
  for a, group in enumerate(groups):
    for j in range(cols):
      ax = axes[a, j]
      ax.set_xticks([])
      ax.set_yticks([])
      if j >= len(group):
        if j > 0:  # Keep the first panel's frame: it carries the action name.
          ax.axis("off")
        continue
      i = group[j]
      ax.imshow(minatar_frame(states[i], num_channels, channel_colors, cell=12))
      caption = f"#{i}" if probs is None else f"#{i} p={probs[i, a]:.2f}"
      ax.set_title(caption, fontsize=7)
    axes[a, 0].set_ylabel(action_names[a], fontsize=9)
  if channel_names:
    colors = np.asarray(channel_colors or PALETTE[:num_channels], np.float32) / 255.0
    handles = [patches.Patch(color=colors[c], label=n) for c, n in enumerate(channel_names)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=7,
               frameon=False)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout(rect=(0, 0.06 if channel_names else 0, 1, 1))
  return fig


def save_gif(frames, path: str, fps: int = 15) -> None:
  """Writes frames [T, H, W, 3] uint8 as a looping GIF."""
  frames = np.asarray(frames, np.uint8)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
    raise ValueError(f"frames must be [T, H, W, 3] with T >= 1, got {frames.shape}")
  images = [Image.fromarray(f) for f in frames]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with files.atomic_path(path) as tmp:
    images[0].save(tmp, save_all=True, append_images=images[1:],
                   duration=max(1, round(1000 / fps)), loop=0)


def plot_image_dataset(images, labels, path: str, **kwargs) -> None:
  """Writes `image_dataset_figure(images, labels, **kwargs)` to `path` (PNG)."""
  _save(image_dataset_figure(images, labels, **kwargs), path)


def image_dataset_figure(images, labels, class_names=None, start=None,
                         title: str = "") -> plt.Figure:
  """Distilled images as a grid, one row per class label, next to the images they started
  from (supervised tasks).

  Args:
    images: [D, side * side] pixels (drawn on a fixed [0, 1] grey scale, clipped).
    labels: [D] int class of each image.
    class_names: a name per class (default: the class index).
    start: [D, side * side] the ES's starting images in the same order (e.g. class means),
      drawn in the first columns of each row; None: distilled images only.
    title: figure title.
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels).astype(int)
  side = math.isqrt(images.shape[1])
  classes = sorted(set(labels.tolist()))
  per_row = max(int(np.sum(labels == c)) for c in classes)
  groups = (["start"] if start is not None else []) + ["distilled"]
  cols = per_row * len(groups)
  fig, axes = plt.subplots(len(classes), cols, squeeze=False,
                           figsize=(max(1.1 * cols + 1.4, 4.8), 1.15 * len(classes)))
  for r, c in enumerate(classes):
    rows = np.flatnonzero(labels == c)
    sources = ([np.asarray(start)[rows]] if start is not None else []) + [images[rows]]
    for g, source in enumerate(sources):
      for k in range(per_row):
        ax = axes[r, g * per_row + k]
        ax.set_xticks([])
        ax.set_yticks([])
        if k < len(source):
          ax.imshow(np.clip(source[k].reshape(side, side), 0.0, 1.0), cmap="gray_r",
                    vmin=0.0, vmax=1.0)
        else:
          ax.axis("off")
        if r == 0 and k == 0:
          ax.set_title(groups[g], fontsize=8)
    name = class_names[c] if class_names is not None and c < len(class_names) else str(c)
    axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
  if title:
    fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  return fig
