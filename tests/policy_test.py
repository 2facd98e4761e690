import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades import policy as policy_lib


def test_forward_shapes_and_initial_log_std():
  policy = policy_lib.make_policy(3, width=16, depth=2)
  params = policy.init(jax.random.key(0), jnp.zeros((11,)))
  mean, log_std = policy.apply(params, jnp.ones((5, 11)))
  assert mean.shape == (5, 3) and log_std.shape == (3,)
  np.testing.assert_array_equal(log_std, 0.0)
  kernels = params["params"]
  assert kernels["Dense_0"]["kernel"].shape == (11, 16)
  # Orthogonal init: hidden columns orthonormal up to gain sqrt(2); output gain 0.01.
  w = np.asarray(kernels["Dense_1"]["kernel"])
  np.testing.assert_allclose(w.T @ w, 2.0 * np.eye(16), atol=1e-4)
  assert np.abs(kernels["Dense_2"]["kernel"]).max() < 0.02


def test_gaussian_log_prob_matches_closed_form():
  mean, log_std = jnp.array([0.5, -1.0]), jnp.array([0.0, np.log(2.0)])
  a = jnp.array([1.0, 1.0])
  expected = (-0.5 * 0.25 - 0.5 * np.log(2 * np.pi)) + (-0.5 * 1.0 - np.log(2.0) - 0.5 * np.log(2 * np.pi))
  np.testing.assert_allclose(policy_lib.gaussian_log_prob(mean, log_std, a), expected, rtol=1e-6)


def test_bad_settings_raise():
  with pytest.raises(ValueError, match="unknown activation"):
    policy_lib.make_policy(3, activation="sigmoidz")
  with pytest.raises(ValueError, match="unknown kernel init"):
    policy_lib.make_policy(3, kernel_init="magic")


def test_batched_student_init_gives_distinct_students():
  policy = policy_lib.make_policy(3, width=32, depth=2)
  init = jax.jit(policy_lib.make_init_params(policy, 11))
  params = init(jax.random.split(jax.random.key(0), 3))
  k = params["params"]["Dense_0"]["kernel"]
  assert k.shape == (3, 11, 32)
  assert not np.allclose(k[0], k[1])


def test_width_512_batched_init_does_not_hang():
  """Guards the jax 0.10.2 CPU trap: a vmapped orthogonal init of a 2x512 MLP hangs in jit."""
  code = textwrap.dedent("""
      import jax
      from hades import policy as p
      init = jax.jit(p.make_init_params(p.make_policy(3, width=512, depth=2), 11))
      out = init(jax.random.split(jax.random.key(0), 4))
      jax.block_until_ready(out)
      print("ok")
  """)
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]
