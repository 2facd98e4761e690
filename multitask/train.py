"""BC of the task-conditioned generalist on the union of distilled datasets, vmapped over seeds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hades import bc
from multitask import agent as agent_lib
from multitask import combine

_LOG_2PI = float(np.log(2.0 * np.pi))


def make_multitask_loss(agent: agent_lib.TaskConditionedPolicy):
  """loss(params, data) = sum_i w_i * NLL_i over each point's real action dims.

  Padding dims are masked out; the weights make every task count equally (balanced).
  """

  def loss_fn(params, data: combine.MultiTaskData) -> jax.Array:
    mean, log_std = agent.apply(params, data.states, data.task_ids)
    z = (data.actions - mean) * jnp.exp(-log_std)
    nll = 0.5 * z**2 + log_std + 0.5 * _LOG_2PI
    return jnp.sum(data.weights * jnp.sum(data.action_mask * nll, axis=-1))

  return loss_fn


def make_multitask_train(agent: agent_lib.TaskConditionedPolicy, num_steps: int,
                         learning_rate: float = 5e-3, max_grad_norm: float = 0.5):
  """Returns train(params, data) -> (params, final_loss): full-batch Adam in one lax.scan."""
  loss_fn = make_multitask_loss(agent)
  optimizer = bc.make_optimizer(learning_rate, max_grad_norm)

  def train(params, data):
    def step(carry, _):
      params, opt_state = carry
      loss, grads = jax.value_and_grad(loss_fn)(params, data)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, length=num_steps)
    return params, loss_fn(params, data)

  return train


def make_init(agent: agent_lib.TaskConditionedPolicy, max_obs: int):
  """init(keys [S]) -> params [S, ...] (lax.map: see hades.policy.make_init_params)."""
  obs, ids = jnp.zeros((max_obs,)), jnp.zeros((), jnp.int32)
  return lambda keys: jax.lax.map(lambda k: agent.init(k, obs, ids), keys)


def train_generalists(agent, data: combine.MultiTaskData, key: jax.Array, num_seeds: int,
                      num_steps: int, learning_rate: float = 5e-3, max_grad_norm: float = 0.5):
  """Trains `num_seeds` generalists (one init each) at once; returns (params [S], loss [S])."""
  max_obs = data.states.shape[-1]
  params = jax.jit(make_init(agent, max_obs))(jax.random.split(key, num_seeds))
  train = make_multitask_train(agent, num_steps, learning_rate, max_grad_norm)
  return jax.jit(jax.vmap(train, in_axes=(0, None)))(params, data)
