"""Task-conditioned student: shared MLP trunk, task id as one-hot or learned embedding,
optionally one output head per task."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hades import policy as policy_lib
from hades.errors import ConfigError

CONDITIONINGS = ("onehot", "embedding")


class TaskConditionedPolicy(nn.Module):
  """(obs [..., max_obs], task_id [...]) -> (mean [..., max_act], log_std [..., max_act]).

  Attributes:
    num_tasks, max_act: number of tasks and the padded action size.
    hidden_sizes, activation: shared trunk.
    conditioning: 'onehot' (id appended as a one-hot) or 'embedding' (learned, embed_dim).
    per_task_heads: one output layer (and log_std) per task instead of a shared one.
    per_task_inputs: one first layer per task instead of a shared one.
    obs_sizes: each task's own observation size (per_task_inputs): its input layer is
      initialised like a single-task student's on that many inputs, zero on the padding.
  """

  num_tasks: int
  max_act: int
  hidden_sizes: Sequence[int] = (256, 256)
  activation: str = "tanh"
  conditioning: str = "onehot"
  embed_dim: int = 8
  per_task_heads: bool = False
  per_task_inputs: bool = False
  obs_sizes: Sequence[int] = ()

  @nn.compact
  def __call__(self, obs: jax.Array, task_id: jax.Array):
    if self.conditioning == "onehot":
      code = jax.nn.one_hot(task_id, self.num_tasks, dtype=obs.dtype)
    else:
      code = nn.Embed(self.num_tasks, self.embed_dim, name="task_embedding")(task_id)
    act = policy_lib.ACTIVATIONS[self.activation]
    x = obs
    for i, width in enumerate(self.hidden_sizes):
      if i == 0 and self.per_task_inputs:
        # One input layer per task (each initialised like a single-task student's), so the
        # tasks' states do not share the first features; the rest of the trunk is shared.
        onehot = jax.nn.one_hot(task_id, self.num_tasks, dtype=obs.dtype)
        # Its kernel is drawn for the task's own inputs and zero on the padding: an orthogonal
        # [max_obs, width] draw would shrink a small task's weights by sqrt(obs / max_obs)
        # (hopper next to breakout: 11 of 400 inputs, weights ~6x smaller).
        per_task = jnp.stack([
            nn.Dense(width, kernel_init=_padded_init(
                self.obs_sizes[t] if self.obs_sizes else 0), name=f"input_{t}")(x)
            for t in range(self.num_tasks)], axis=-2)
        h = jnp.sum(onehot[..., None] * per_task, axis=-2)
      else:
        h = nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)))(x)
      if i == 0:
        # The task code enters the first layer through zero-initialised weights (the same as
        # concatenating it to the input with zero rows): at init the trunk is distributed
        # exactly like a single-task student, the function the datasets were distilled for;
        # the task dependence is learned.
        h = h + nn.Dense(width, use_bias=False, kernel_init=nn.initializers.zeros,
                         name="task_code")(code)
      x = act(h)
    heads = self.num_tasks if self.per_task_heads else 1
    out = nn.Dense(heads * self.max_act, kernel_init=nn.initializers.orthogonal(0.01))(x)
    if not self.hidden_sizes:
      # No hidden layer for the code to enter: it enters the output layer, the same way.
      out = out + nn.Dense(heads * self.max_act, use_bias=False,
                           kernel_init=nn.initializers.zeros, name="task_code")(code)
    log_std = self.param("log_std", nn.initializers.zeros, (heads, self.max_act))
    if self.per_task_heads:
      out = out.reshape(out.shape[:-1] + (heads, self.max_act))
      mean = jnp.take_along_axis(out, task_id[..., None, None], axis=-2)[..., 0, :]
      return mean, log_std[task_id]
    return out, jnp.broadcast_to(log_std[0], out.shape)


def _padded_init(obs_size: int):
  """Orthogonal(sqrt 2) init of the first `obs_size` input rows, zeros below (0: all rows)."""
  orthogonal = nn.initializers.orthogonal(np.sqrt(2.0))

  def init(key, shape, dtype=jnp.float32):
    rows = obs_size if 0 < obs_size < shape[0] else shape[0]
    return jnp.pad(orthogonal(key, (rows,) + tuple(shape[1:]), dtype),
                   [(0, shape[0] - rows)] + [(0, 0)] * (len(shape) - 1))

  return init


def make_agent(num_tasks: int, max_act: int, width: int = 256, depth: int = 2,
               activation: str = "tanh", conditioning: str = "onehot", embed_dim: int = 8,
               per_task_heads: bool = False, per_task_inputs: bool = False,
               obs_sizes: Sequence[int] = ()) -> TaskConditionedPolicy:
  if conditioning not in CONDITIONINGS:
    raise ConfigError(f"unknown conditioning {conditioning!r}; choose one of {CONDITIONINGS}")
  if activation not in policy_lib.ACTIVATIONS:
    raise ConfigError(f"unknown activation {activation!r}; choose one of "
                      f"{sorted(policy_lib.ACTIVATIONS)}")
  if width < 1 or depth < 0:
    raise ConfigError(f"agent width must be >= 1 and depth >= 0, got {width}, {depth}")
  return TaskConditionedPolicy(num_tasks, max_act, (width,) * depth, activation, conditioning,
                               embed_dim, per_task_heads, per_task_inputs, tuple(obs_sizes))


class TaskView:
  """The generalist seen as one task's single-task policy (what rollout.make_evaluate needs):
  apply(params, obs [..., obs_size]) -> (mean [..., act_size], log_std [..., act_size]).

  `task_id` is the id fed to the network; the ablation feeds a wrong one on purpose. With
  task_id=None the id travels with the params, `apply((params, task_id), obs)`, so evaluations
  with different ids share one compiled function.
  """

  def __init__(self, agent: TaskConditionedPolicy, task_id: int | None, max_obs: int,
               act_size: int):
    self.agent, self.task_id, self.max_obs, self.act_size = agent, task_id, max_obs, act_size

  def apply(self, params, obs):
    if self.task_id is None:
      params, task_id = params
    else:
      task_id = self.task_id
    pad = [(0, 0)] * (obs.ndim - 1) + [(0, self.max_obs - obs.shape[-1])]
    ids = jnp.full(obs.shape[:-1], task_id, jnp.int32)
    mean, log_std = self.agent.apply(params, jnp.pad(obs, pad), ids)
    return mean[..., :self.act_size], log_std[..., :self.act_size]


def parameter_sharing(agent: TaskConditionedPolicy, params) -> dict:
  """How much of one generalist all its tasks share.

  Task-specific: the per-task input layers, the task code (its rows are one task's each), and
  with per-task heads the output layer and log_std (each task reads its own slice). Everything
  else (the trunk; a shared output layer) every task uses.

  Returns {'total': n, 'shared': n, 'shared_fraction': shared / total}.
  """
  total = shared = 0
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    names = [str(getattr(p, "key", p)) for p in path]
    size = int(np.prod(leaf.shape))
    per_task = any(n.startswith(("input_", "task_code", "task_embedding")) for n in names)
    if agent.per_task_heads:
      last_dense = f"Dense_{len(agent.hidden_sizes) - (1 if agent.per_task_inputs else 0)}"
      per_task |= "log_std" in names or last_dense in names
    total += size
    shared += 0 if per_task else size
  return {"total": total, "shared": shared, "shared_fraction": shared / max(total, 1)}
