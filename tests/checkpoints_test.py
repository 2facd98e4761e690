import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import checkpoints
from hades import config as config_lib


def _state(x=0.0):
  x = float(x)
  return {"mean": jnp.full((4, 3), x), "count": jnp.asarray(3, jnp.int32),
          "nested": {"m": jnp.arange(5.0) + x}}


def test_roundtrip_and_preservation_policy(tmp_path):
  ckpt = checkpoints.RunCheckpointer(str(tmp_path / "c"), keep_latest=2, keep_best=1)
  for step, best in [(1, 5.0), (2, 9.0), (3, 1.0), (4, 2.0), (5, 3.0)]:
    ckpt.save(step, _state(step), {"config": {"a": 1}}, {"fitness/best": best})
  assert ckpt.all_steps() == [2, 4, 5]  # Latest two plus the best (step 2).
  step, state, meta = ckpt.restore(jax.eval_shape(_state))
  assert step == 5 and meta["config"] == {"a": 1} and meta["schema_version"] == 1
  assert "jax" in meta["versions"] and "orbax-checkpoint" in meta["versions"]
  jax.tree.map(np.testing.assert_array_equal, state, _state(5))
  ckpt.close()


def test_no_checkpoint_returns_none(tmp_path):
  assert checkpoints.RunCheckpointer(str(tmp_path)).restore(jax.eval_shape(_state)) is None


def test_corrupt_latest_falls_back_to_previous(tmp_path):
  directory = tmp_path / "c"
  ckpt = checkpoints.RunCheckpointer(str(directory), keep_latest=3)
  ckpt.save(1, _state(1), {})
  ckpt.save(2, _state(2), {})
  # Garble every file of the latest checkpoint, as a crash or a bad disk might.
  for root, _, files in os.walk(directory / "2"):
    for f in files:
      with open(os.path.join(root, f), "wb") as fh:
        fh.write(b"\x00garbage")
  messages = []
  step, state, _ = checkpoints.RunCheckpointer(str(directory)).restore(
      jax.eval_shape(_state), log=messages.append)
  assert step == 1
  jax.tree.map(np.testing.assert_array_equal, state, _state(1))
  assert any("checkpoint 2" in m and "unreadable" in m for m in messages)


def test_shape_or_config_mismatch_is_refused(tmp_path):
  ckpt = checkpoints.RunCheckpointer(str(tmp_path))
  ckpt.save(1, _state(), {"config": {"es": {"population_size": 8}}})
  bigger = jax.eval_shape(lambda: {**_state(), "mean": jnp.zeros((8, 3))})
  with pytest.raises(checkpoints.CheckpointError, match="different array shapes"):
    ckpt.restore(bigger)

  def check(meta):
    diff = config_lib.config_differences(meta["config"], {"es": {"population_size": 16}})
    if diff:
      raise checkpoints.CheckpointError(f"differ: {diff}")

  with pytest.raises(checkpoints.CheckpointError, match="es.population_size"):
    ckpt.restore(jax.eval_shape(_state), check_meta=check)


def test_workdir_lock_is_exclusive(tmp_path):
  with checkpoints.WorkdirLock(str(tmp_path)):
    with pytest.raises(checkpoints.CheckpointError, match="is in use by pid"):
      with checkpoints.WorkdirLock(str(tmp_path)):
        pass
  with checkpoints.WorkdirLock(str(tmp_path)):  # Released after use.
    assert (tmp_path / ".hades-lock").read_text() == f"pid {os.getpid()}"
  assert list(tmp_path.iterdir()) == []  # A clean release leaves the directory as it was.
