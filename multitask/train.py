"""BC of the task-conditioned generalist on the union of distilled datasets, vmapped over seeds."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from hades import bc
from hades import policy as policy_lib
from hades import types
from multitask import agent as agent_lib
from multitask import combine


_CATEGORICAL = policy_lib.CategoricalHead("fixed")  # Targets are probabilities (combine).


def make_multitask_loss(agent: agent_lib.TaskConditionedPolicy) -> types.Loss:
  """loss(params, data) = sum_i w_i * -log pi(label_i | state_i, task_i) over each point's
  real action dims (padding masked out): the Gaussian NLL of continuous tasks' actions, the
  cross-entropy to discrete tasks' target probabilities (the outputs are their logits); the
  weights make every task count equally."""

  def loss_fn(params, data: combine.MultiTaskData) -> jax.Array:
    out, log_std = agent.apply(params, data.states, data.task_ids)
    gaussian = policy_lib.gaussian_log_prob(out, log_std, data.actions, data.action_mask)
    categorical = _CATEGORICAL.log_likelihood(out, log_std, data.actions, data.action_mask)
    log_prob = jnp.where(data.discrete > 0, categorical, gaussian)
    return -jnp.sum(data.weights * log_prob)

  return loss_fn


def make_init(agent: agent_lib.TaskConditionedPolicy, max_obs: int):
  """init(keys [S]) -> params [S, ...] (lax.map: see hades.policy.make_init_params)."""
  obs, ids = jnp.zeros((max_obs,)), jnp.zeros((), jnp.int32)
  return lambda keys: jax.lax.map(lambda k: agent.init(k, obs, ids), keys)


def train_generalists(agent, data: combine.MultiTaskData, key: jax.Array, num_seeds: int,
                      num_steps: int, learning_rate: float = 5e-3, max_grad_norm: float = 0.5):
  """Trains `num_seeds` generalists (one init each) at once; returns (params [S], loss [S])."""
  max_obs = data.states.shape[-1]
  params = jax.jit(make_init(agent, max_obs))(jax.random.split(key, num_seeds))
  train = bc.make_train(make_multitask_loss(agent), num_steps, learning_rate, max_grad_norm)
  return jax.jit(jax.vmap(train, in_axes=(0, None)))(params, data)
