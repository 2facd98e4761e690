"""Student networks and their action heads.

One MLP body for every task: obs [..., obs] -> (out [..., act], log_std [act]). The head says
what `out` means: the mean of a Gaussian over continuous actions (with the learned,
state-independent log_std), or the logits of a categorical over discrete actions (log_std
unused and not a parameter). Heads turn outputs into env actions and give the BC
log-likelihood of dataset labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hades import types
from hades.errors import ConfigError

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": nn.tanh,
    "relu": nn.relu,
    "gelu": nn.gelu,
    "elu": nn.elu,
    "silu": nn.silu,
}

_LOG_2PI = float(np.log(2.0 * np.pi))


def _kernel_init(kind: str, scale: float):
  if kind == "orthogonal":
    return nn.initializers.orthogonal(scale)
  if kind == "lecun_normal":
    return nn.initializers.variance_scaling(scale**2, "fan_in", "truncated_normal")
  raise ConfigError(f"unknown kernel init {kind!r}; choose 'orthogonal' or 'lecun_normal'")


class MLPPolicy(nn.Module):
  """obs [..., obs_size] -> (out [..., act_size], log_std [act_size]): `out` is a Gaussian's
  mean (continuous actions, learned log_std) or a categorical's logits (learned_std False,
  log_std 0); the `Head` says which.

  Attributes:
    action_size: number of action dimensions (discrete: number of actions).
    hidden_sizes: width of each hidden layer (paper: (512, 512)).
    activation: a key of ACTIVATIONS.
    kernel_init: 'orthogonal' (paper: gain sqrt(2) hidden, 0.01 output) or 'lecun_normal'.
  """

  action_size: int
  hidden_sizes: Sequence[int] = (512, 512)
  activation: str = "tanh"
  kernel_init: str = "orthogonal"
  learned_std: bool = True  # False (categorical heads): log_std is a constant 0, no parameter.

  @nn.compact
  def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    act = ACTIVATIONS[self.activation]
    x = obs
    for width in self.hidden_sizes:
      x = act(nn.Dense(width, kernel_init=_kernel_init(self.kernel_init, np.sqrt(2.0)),
                       bias_init=nn.initializers.zeros)(x))
    mean = nn.Dense(self.action_size, kernel_init=_kernel_init(self.kernel_init, 0.01),
                    bias_init=nn.initializers.zeros)(x)
    if not self.learned_std:
      return mean, jnp.zeros((self.action_size,), mean.dtype)
    log_std = self.param("log_std", nn.initializers.zeros, (self.action_size,))
    return mean, log_std


def make_policy(action_size: int, width: int = 512, depth: int = 2, activation: str = "tanh",
                kernel_init: str = "orthogonal", learned_std: bool = True) -> MLPPolicy:
  """Builds the student network from config-style arguments (validated)."""
  if activation not in ACTIVATIONS:
    raise ConfigError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
  if width < 1 or depth < 0:
    raise ConfigError(f"student width must be >= 1 and depth >= 0, got {width}, {depth}")
  _kernel_init(kernel_init, 1.0)
  return MLPPolicy(action_size, (width,) * depth, activation, kernel_init, learned_std)


def gaussian_log_prob(mean: jax.Array, log_std: jax.Array, actions: jax.Array,
                      mask: jax.Array | None = None) -> jax.Array:
  """Log-density of `actions` [..., act] under N(mean, exp(log_std)^2); returns [...].

  mask: [..., act] 1 for the action dimensions that count, 0 for padding (multi-task).
  """
  z = (actions - mean) * jnp.exp(-log_std)
  per_dim = -0.5 * z**2 - log_std - 0.5 * _LOG_2PI
  return jnp.sum(per_dim if mask is None else mask * per_dim, axis=-1)


def sample_actions(key: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
  """Samples actions [..., act] from the Gaussian policy."""
  return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)


LABELS = ("fixed", "learned")


@dataclasses.dataclass(frozen=True)
class GaussianHead:
  """Continuous actions: N(mean, exp(log_std)^2) per dimension; the env gets [-1, 1]-clipped
  actions. Dataset labels are actions [..., act]."""

  discrete = False
  learned_std = True

  def log_likelihood(self, out: jax.Array, log_std: jax.Array, labels: jax.Array,
                     mask: jax.Array | None = None) -> jax.Array:
    """[...] log-density of labels [..., act] (mask [..., act]: 0 on padded dimensions)."""
    return gaussian_log_prob(out, log_std, labels, mask)

  def act(self, key: jax.Array, out: jax.Array, log_std: jax.Array,
          deterministic: bool = False) -> jax.Array:
    """Env actions [..., act] in [-1, 1]: sampled, or the mean when deterministic."""
    action = out if deterministic else sample_actions(key, out, log_std)
    return jnp.clip(action, -1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class CategoricalHead:
  """Discrete actions: a categorical over softmax(logits). Dataset labels are [..., n]: one-hot
  action probabilities ('fixed', the paper's balanced labels) or evolved logits whose softmax is
  the soft target ('learned')."""

  labels: str = "fixed"
  discrete = True
  learned_std = False

  def __post_init__(self):
    if self.labels not in LABELS:
      raise ConfigError(f"unknown label mode {self.labels!r}; choose one of {LABELS}")

  def target(self, labels: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """[..., n] target action probabilities of dataset labels."""
    if self.labels == "fixed":
      return labels
    if mask is not None:
      labels = jnp.where(mask > 0, labels, -jnp.inf)
    return jax.nn.softmax(labels, axis=-1)

  def log_likelihood(self, out: jax.Array, log_std: jax.Array, labels: jax.Array,
                     mask: jax.Array | None = None) -> jax.Array:
    """[...] minus the cross-entropy from the target of labels [..., n] to softmax(logits);
    mask [..., n] (multi-task padding) removes actions the task does not have."""
    del log_std
    if mask is not None:
      out = jnp.where(mask > 0, out, -1e9)
    target = self.target(labels, mask)
    return jnp.sum(jnp.where(target > 0, target * jax.nn.log_softmax(out, axis=-1), 0.0),
                   axis=-1)

  def act(self, key: jax.Array, out: jax.Array, log_std: jax.Array,
          deterministic: bool = False) -> jax.Array:
    """Env actions [...] int32: sampled from softmax(logits), or the argmax when deterministic."""
    del log_std
    if deterministic:
      return jnp.argmax(out, axis=-1).astype(jnp.int32)
    return jax.random.categorical(key, out, axis=-1).astype(jnp.int32)


Head = GaussianHead | CategoricalHead


def make_init_params(policy: nn.Module, obs_size: int) -> types.InitParams:
  """Returns init(keys [S]) -> params with a leading [S] student axis.

  Students are initialised with `lax.map`, not `vmap`: on CPU with jax 0.10.2, a *batched*
  (vmapped) orthogonal initialiser of two differently shaped layers hangs forever inside jit
  (batched QR custom calls deadlock; tests/policy_test.py guards this). `lax.map` runs the
  unbatched QRs one student at a time, which is cheap since inits are shared by all candidates
  of a generation. Do not vmap the returned function over an outer axis either.
  """
  dummy_obs = jnp.zeros((obs_size,), jnp.float32)

  def init(keys: jax.Array):
    return jax.lax.map(lambda key: policy.init(key, dummy_obs), keys)

  return init
