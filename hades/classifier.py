"""The supervised student: a small CNN classifier of flattened square images.

It keeps the student contract of `policy.MLPPolicy` with a categorical head: apply(params,
x [..., side * side]) -> (logits [..., num_classes], log_std [num_classes] zeros, no
parameter), so BC (`bc.make_bc_loss` with `policy.CategoricalHead`), fitness, validation and
scoring treat it like any other student. The paper's student (Lupu et al. 2024, supervised
distillation): conv 16 3x3 -> ReLU -> dense 128 -> ReLU -> 10 logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from hades import policy as policy_lib
from hades.errors import ConfigError


class ConvClassifier(nn.Module):
  """x [..., side * side] (one channel, row-major) -> (logits [..., num_classes], zeros).

  Attributes:
    num_classes: number of classes (logits).
    side: image height = width.
    channels: filters of the 3x3 convolution ('SAME' padding).
    stride: its stride (1: the paper; 2 quarters the dense layer's input, a CPU shortcut).
    hidden_sizes: dense layers after the flattened convolution (paper: (128,)).
    activation: a key of `policy.ACTIVATIONS`.
  """

  num_classes: int
  side: int = 28
  channels: int = 16
  stride: int = 1
  hidden_sizes: Sequence[int] = (128,)
  activation: str = "relu"

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    act = policy_lib.ACTIVATIONS[self.activation]
    lead = x.shape[:-1]
    h = x.reshape((-1, self.side, self.side, 1))
    h = act(nn.Conv(self.channels, (3, 3), strides=(self.stride, self.stride),
                    padding="SAME")(h))
    h = h.reshape((h.shape[0], -1))
    for width in self.hidden_sizes:
      h = act(nn.Dense(width)(h))
    logits = nn.Dense(self.num_classes)(h).reshape(lead + (self.num_classes,))
    return logits, jnp.zeros((self.num_classes,), logits.dtype)


def make_classifier(num_classes: int, input_size: int, channels: int = 16, stride: int = 1,
                    width: int = 128, depth: int = 1,
                    activation: str = "relu") -> ConvClassifier:
  """The CNN student for flattened square images of `input_size` = side**2 pixels."""
  side = math.isqrt(input_size)
  if side * side != input_size:
    raise ConfigError(f"a convolutional student needs square one-channel images; inputs of "
                      f"size {input_size} are not")
  if activation not in policy_lib.ACTIVATIONS:
    raise ConfigError(f"unknown activation {activation!r}; choose one of "
                      f"{sorted(policy_lib.ACTIVATIONS)}")
  if channels < 1 or stride < 1 or width < 1 or depth < 0:
    raise ConfigError(f"student conv_channels, conv_stride and width must be >= 1 and depth "
                      f">= 0, got {channels}, {stride}, {width}, {depth}")
  return ConvClassifier(num_classes, side, channels, stride, (width,) * depth, activation)
