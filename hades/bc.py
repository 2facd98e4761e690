"""Behaviour cloning: the inner loop that turns a dataset into a student policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from hades import dataset as dataset_lib
from hades import policy as policy_lib
from hades import types
from hades.errors import ConfigError


def make_bc_loss(policy: types.Policy,
                 head: policy_lib.Head = policy_lib.GaussianHead()) -> types.Loss:
  """loss(params, dataset) = mean over the D points of -log pi(label | state): the Gaussian
  NLL of actions, or the cross-entropy to (fixed or learned) discrete labels."""

  def loss_fn(params, dataset: dataset_lib.SyntheticDataset) -> jax.Array:
    out, log_std = policy.apply(params, dataset.states)
    return -jnp.mean(head.log_likelihood(out, log_std, dataset.actions))

  return loss_fn


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
  """`optax.clip_by_global_norm`, applied as one multiply by max_norm / norm per step.

  optax divides every gradient leaf by the norm. XLA rewrites x / broadcast(norm) into
  x * broadcast(1 / norm) in a 1-device program but not in a partitioned N-device one, so
  students trained on 1 and on N devices differed in their last bits (and, over 1000 chaotic
  Brax steps, in their returns). A precomputed scale is the same arithmetic in both.
  """

  def clip(updates, params=None):
    del params
    norm = optax.global_norm(updates)
    scale = jnp.where(norm < max_norm, 1.0, max_norm / norm)
    return jax.tree.map(lambda g: g * scale.astype(g.dtype), updates)

  return optax.stateless(clip)


OPTIMIZERS = ("adam", "sgd")


def make_optimizer(learning_rate: float, max_grad_norm: float, eps: float = 1e-5,
                   kind: str = "adam"):
  """Adam with global-norm clipping, as in the paper (lr 5e-3, eps 1e-5, clip 0.5; the
  paper's MinAtar students: lr 0.03, no clipping, i.e. max_grad_norm <= 0); kind 'sgd': plain
  gradient descent (the paper's supervised students: full-batch SGD at lr 0.1)."""
  if kind not in OPTIMIZERS:
    raise ConfigError(f"unknown student.optimizer {kind!r}; choose one of {OPTIMIZERS}")
  inner = (optax.adam(learning_rate, eps=eps) if kind == "adam"
           else optax.sgd(learning_rate))
  if max_grad_norm <= 0:
    return inner
  return optax.chain(clip_by_global_norm(max_grad_norm), inner)


def make_train(loss_fn: types.Loss, num_steps: int, learning_rate: float = 5e-3,
               max_grad_norm: float = 0.5, optimizer: str = "adam",
               batch_fn: Callable[[Any, jax.Array], Any] | None = None) -> types.Train:
  """Returns train(params, data) -> (params, final_loss []): the one BC loop, for any loss.

  Full-batch gradient descent on `loss_fn(params, data)` for `num_steps` steps inside one
  `lax.scan`; pure, so it can be vmapped over students, candidates and seeds. `params` are one
  network's parameters and `data` the whole training set (e.g. a SyntheticDataset with
  states [D, obs], actions [D, act], or multitask's MultiTaskData).

  batch_fn: (data, step [] int32) -> the data of that step (minibatches, e.g. the supervised
  full-training-set baseline); None: full batch, the same `data` every step. The final loss is
  then on batch_fn(data, num_steps).
  """
  if num_steps < 0:
    raise ConfigError(f"bc steps must be >= 0, got {num_steps}")
  opt = make_optimizer(learning_rate, max_grad_norm, kind=optimizer)

  def train(params, data):
    def step(carry, i):
      params, opt_state = carry
      batch = data if batch_fn is None else batch_fn(data, i)
      loss, grads = jax.value_and_grad(loss_fn)(params, batch)
      updates, opt_state = opt.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    steps = None if batch_fn is None else jnp.arange(num_steps, dtype=jnp.int32)
    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), steps, length=num_steps)
    last = data if batch_fn is None else batch_fn(data, jnp.asarray(num_steps, jnp.int32))
    return params, loss_fn(params, last)

  return train


def make_bc_train(policy: types.Policy, num_steps: int, learning_rate: float = 5e-3,
                  max_grad_norm: float = 0.5,
                  head: policy_lib.Head = policy_lib.GaussianHead(),
                  optimizer: str = "adam") -> types.Train:
  """`make_train` with the BC loss of a single-task student and its head."""
  return make_train(make_bc_loss(policy, head), num_steps, learning_rate, max_grad_norm,
                    optimizer)
