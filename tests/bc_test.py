import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hades import bc
from hades import dataset as dataset_lib
from hades import policy as policy_lib


def test_bc_fits_a_small_dataset():
  key_s, key_a, key_p = jax.random.split(jax.random.key(0), 3)
  data = dataset_lib.SyntheticDataset(jax.random.normal(key_s, (8, 11)),
                                      jax.random.uniform(key_a, (8, 3), minval=-1, maxval=1))
  policy = policy_lib.make_policy(3, width=64, depth=2)
  params = policy.init(key_p, jnp.zeros((11,)))
  loss_fn = bc.make_bc_loss(policy)
  train = jax.jit(bc.make_bc_train(policy, num_steps=400, learning_rate=5e-3))
  trained, final_loss = train(params, data)
  assert float(final_loss) < float(loss_fn(params, data)) - 1.0
  mean, log_std = policy.apply(trained, data.states)
  np.testing.assert_allclose(mean, data.actions, atol=0.15)
  assert np.all(np.asarray(log_std) < -0.5)  # Learned std shrinks towards the fit error.


def test_zero_steps_returns_initial_params():
  policy = policy_lib.make_policy(2, width=8, depth=1)
  params = policy.init(jax.random.key(1), jnp.zeros((4,)))
  data = dataset_lib.zeros(3, 4, 2)
  trained, _ = bc.make_bc_train(policy, num_steps=0)(params, data)
  jax.tree.map(np.testing.assert_array_equal, trained, params)


@pytest.mark.parametrize("scale", [0.1, 10.0])  # Under and over the norm of 0.5.
def test_clip_by_global_norm_matches_optax(scale):
  grads = {"w": scale * jnp.arange(6.0).reshape(2, 3) / 7.0, "b": scale * jnp.ones(3) / 3.0}
  ours, _ = bc.clip_by_global_norm(0.5).update(grads, None)
  ref, _ = optax.clip_by_global_norm(0.5).update(grads, optax.EmptyState())
  for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(ref)):
    np.testing.assert_allclose(a, b, rtol=1e-6)
  expected = min(float(optax.global_norm(grads)), 0.5)
  assert float(optax.global_norm(ours)) == pytest.approx(expected, rel=1e-6)
