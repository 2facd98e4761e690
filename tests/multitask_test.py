import jax
import jax.numpy as jnp
import numpy as np
import pytest

import conftest
from hades import dataset as dataset_lib
from hades.errors import InputError
from multitask import agent as agent_lib
from multitask import combine
from multitask import train as train_lib
from multitask import workflow


def _datasets():
  rng = np.random.default_rng(0)
  a = dataset_lib.SyntheticDataset(rng.normal(size=(2, 3)).astype(np.float32),
                                   rng.uniform(-1, 1, size=(2, 1)).astype(np.float32))
  b = dataset_lib.SyntheticDataset(rng.normal(size=(6, 5)).astype(np.float32),
                                   rng.uniform(-1, 1, size=(6, 2)).astype(np.float32))
  return {"small": (a, dataset_lib.DatasetInfo("hopper")),
          "big": (b, dataset_lib.DatasetInfo("walker2d"))}


def test_combine_pads_masks_and_balances():
  data, slots = combine.combine(_datasets())
  assert data.states.shape == (8, 5) and data.actions.shape == (8, 2)
  np.testing.assert_array_equal(data.task_ids, [0, 0, 1, 1, 1, 1, 1, 1])
  np.testing.assert_array_equal(data.states[:2, 3:], 0.0)  # Obs padding.
  np.testing.assert_array_equal(data.action_mask[:2], [[1, 0], [1, 0]])
  np.testing.assert_array_equal(data.action_mask[2:], 1.0)
  # Each task carries half of the loss whatever its size.
  assert float(data.weights[:2].sum()) == pytest.approx(0.5)
  assert float(data.weights[2:].sum()) == pytest.approx(0.5)
  assert [(s.name, s.obs_size, s.act_size, s.size) for s in slots] == [
      ("small", 3, 1, 2), ("big", 5, 2, 6)]


def test_padded_action_dims_do_not_enter_the_loss():
  data, _ = combine.combine(_datasets())
  agent = agent_lib.make_agent(2, 2, width=16)
  params = agent.init(jax.random.key(0), data.states[0], data.task_ids[0])
  loss_fn = train_lib.make_multitask_loss(agent)
  garbage = data.replace(actions=data.actions.at[:2, 1].set(100.0))
  assert float(loss_fn(params, garbage)) == pytest.approx(float(loss_fn(params, data)))
  real = data.replace(actions=data.actions.at[:2, 0].set(100.0))
  assert float(loss_fn(params, real)) > float(loss_fn(params, data)) + 1.0


@pytest.mark.parametrize("conditioning,heads,inputs,depth", [
    ("onehot", False, False, 2), ("embedding", False, False, 2), ("onehot", True, True, 2),
    ("onehot", False, False, 0), ("embedding", False, False, 0)])
def test_task_id_changes_the_action(conditioning, heads, inputs, depth):
  agent = agent_lib.make_agent(3, 2, width=16, depth=depth, conditioning=conditioning,
                               per_task_heads=heads, per_task_inputs=inputs)
  obs = jnp.ones((5,))
  params = agent.init(jax.random.key(1), obs, jnp.asarray(0))
  # The task code starts at zero (so the trunk starts like a single-task student); give it the
  # non-zero weights training gives it (and larger output weights than the 0.01-scaled init).
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(2), len(leaves))
  params = jax.tree.unflatten(treedef, [
      x + 0.5 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])
  means = [agent.apply(params, obs, jnp.asarray(i))[0] for i in range(3)]
  assert not np.allclose(means[0], means[1], atol=1e-3)
  assert not np.allclose(means[1], means[2], atol=1e-3)


def test_generalists_fit_both_tasks_and_views_crop():
  data, slots = combine.combine(_datasets())
  agent = agent_lib.make_agent(2, 2, width=64)
  params, loss = train_lib.train_generalists(agent, data, jax.random.key(0), num_seeds=2,
                                             num_steps=600)
  assert loss.shape == (2,)
  first = jax.tree.map(lambda x: x[0], params)
  for slot, (dataset, _) in zip(slots, _datasets().values()):
    view = agent_lib.TaskView(agent, slot.index, 5, slot.act_size)
    mean, log_std = view.apply(first, jnp.asarray(dataset.states))
    assert mean.shape == (slot.size, slot.act_size) and log_std.shape[-1] == slot.act_size
    np.testing.assert_allclose(mean, dataset.actions, atol=0.2)


def test_transplant_and_architecture_parsing():
  d = dataset_lib.zeros(4, 11, 3)
  moved = combine.transplant(d, 17, 2)
  assert moved.states.shape == (4, 17) and moved.actions.shape == (4, 2)
  assert workflow.parse_architectures("width=256;activation=relu,depth=3") == [
      {"width": 256}, {"activation": "relu", "depth": 3}]
  with pytest.raises(InputError, match="unknown architecture setting"):
    workflow.parse_architectures("colour=red")


def test_agent_size_defaults_to_the_distillation_students():
  from multitask.configs import default

  config = default.get_config()
  cpu = {"width": 64, "depth": 2, "bc_steps": 200}
  resolved = workflow.resolve_agent_config(config, {"hopper": cpu, "walker2d": cpu})
  assert (resolved.agent.width, resolved.agent.depth) == (64, 2)
  assert config.agent.width == 0  # The input config is not modified.
  # A dataset without a run config (the paper's files) was distilled for the paper's 2x512.
  resolved = workflow.resolve_agent_config(config, {"hopper": cpu, "ant": {}})
  assert (resolved.agent.width, resolved.agent.depth) == (512, 2)
  config.agent.width = 128
  assert workflow.resolve_agent_config(config, {"hopper": cpu}).agent.width == 128


def test_retraining_keeps_the_same_config_and_refuses_another_without_overwrite(tmp_path):
  import checkpoints
  from multitask.configs import default

  conftest.save_task_datasets(tmp_path, np.random.default_rng(0))
  config = default.get_config()
  config.train.bc_steps, config.train.num_seeds, config.agent.width = 5, 2, 8
  names, lines = ["hopper", "reacher"], []
  first = workflow.train_multitask(str(tmp_path), names, config, log=lines.append)
  again = workflow.train_multitask(str(tmp_path), names, config, log=lines.append)
  assert again["reused"] and again["final_loss"] == first["final_loss"]
  assert "keeping them" in lines[-1]
  config.train.bc_steps = 6
  with pytest.raises(checkpoints.CheckpointError, match="another config"):
    workflow.train_multitask(str(tmp_path), names, config, log=lines.append)
  assert workflow.load_generalist(str(tmp_path))[3].train.bc_steps == 5  # Old one intact.
  workflow.train_multitask(str(tmp_path), names, config, log=lines.append, overwrite=True)
  agent, params, slots, restored = workflow.load_generalist(str(tmp_path))
  assert restored.train.bc_steps == 6 and jax.tree.leaves(params)[0].shape[0] == 2
  assert sorted(p.name for p in tmp_path.iterdir()) == ["hopper", "multitask", "reacher"]


def test_an_interrupted_save_is_cleaned_up_and_trained_again(tmp_path):
  """A kill inside the save leaves a staging folder, or a config.json whose checkpoint is gone:
  the next run removes the first and trains again for the second (never a dead end)."""
  import shutil

  from multitask.configs import default

  conftest.save_task_datasets(tmp_path, np.random.default_rng(0))
  config = default.get_config()
  config.train.bc_steps, config.train.num_seeds, config.agent.width = 5, 2, 8
  names, lines = ["hopper", "reacher"], []
  workflow.train_multitask(str(tmp_path), names, config, log=lines.append)
  want = jax.tree.leaves(workflow.load_generalist(str(tmp_path))[1])
  stale = tmp_path / ".multitask-new-abc123"
  shutil.copytree(tmp_path / "multitask", stale)
  shutil.rmtree(tmp_path / "multitask" / "checkpoints")
  (tmp_path / "multitask" / "notes.txt").write_text("the user's")
  workflow.train_multitask(str(tmp_path), names, config, log=lines.append)
  assert any("left by an interrupted save" in line for line in lines)
  assert any("no usable checkpoint" in line for line in lines)
  assert not stale.exists() and (tmp_path / "multitask" / "notes.txt").exists()
  got = jax.tree.leaves(workflow.load_generalist(str(tmp_path))[1])
  for a, b in zip(got, want):
    np.testing.assert_array_equal(a, b)


def test_a_generalist_of_other_datasets_is_never_reused(tmp_path):
  """Re-distilled datasets: the old generalist is neither kept nor evaluated."""
  import checkpoints
  from multitask.configs import default

  conftest.save_task_datasets(tmp_path, np.random.default_rng(0))
  config = default.get_config()
  config.train.bc_steps, config.train.num_seeds, config.agent.width = 5, 2, 8
  workflow.train_multitask(str(tmp_path), ["hopper", "reacher"], config, log=lambda s: None)
  conftest.save_task_datasets(tmp_path, np.random.default_rng(1),
                             tasks_=("hopper",))  # Re-distilled.
  with pytest.raises(checkpoints.CheckpointError, match=r"other datasets \(hopper changed"):
    workflow.train_multitask(str(tmp_path), ["hopper", "reacher"], config, log=lambda s: None)
  with pytest.raises(checkpoints.CheckpointError, match="trained on other datasets"):
    workflow.load_generalist(str(tmp_path))
  result = workflow.train_multitask(str(tmp_path), ["hopper", "reacher"], config,
                                    log=lambda s: None, overwrite=True)
  assert "reused" not in result
  workflow.load_generalist(str(tmp_path))


def _mixed_datasets():
  """hopper (continuous, act 3), cartpole (2 actions, fixed one-hots), breakout-sized learned
  logits (3 actions): one generalist over both families."""
  rng = np.random.default_rng(1)
  hopper = dataset_lib.SyntheticDataset(rng.normal(size=(4, 11)).astype(np.float32),
                                        rng.uniform(-1, 1, size=(4, 3)).astype(np.float32))
  cartpole = dataset_lib.SyntheticDataset(rng.normal(size=(4, 4)).astype(np.float32),
                                          np.eye(2, dtype=np.float32)[[0, 0, 1, 1]])
  acrobot = dataset_lib.SyntheticDataset(rng.normal(size=(3, 6)).astype(np.float32),
                                         3 * rng.normal(size=(3, 3)).astype(np.float32))
  return {"hopper": (hopper, dataset_lib.DatasetInfo("hopper")),
          "cartpole": (cartpole, dataset_lib.DatasetInfo("cartpole", labels="fixed")),
          "acrobot": (acrobot, dataset_lib.DatasetInfo("acrobot", labels="learned"))}


def test_mixed_families_combine_with_the_right_loss_per_task():
  datasets = _mixed_datasets()
  data, slots = combine.combine(datasets)
  assert [s.discrete for s in slots] == [False, True, True]
  np.testing.assert_array_equal(data.discrete, [0] * 4 + [1] * 4 + [1] * 3)
  # Learned logits become target probabilities; padded actions are masked.
  np.testing.assert_allclose(data.actions[8:, :3], jax.nn.softmax(datasets["acrobot"][0].actions),
                             rtol=1e-6)
  np.testing.assert_array_equal(data.action_mask[4:8], [[1, 1, 0]] * 4)
  agent = agent_lib.make_agent(3, 3, width=64, per_task_heads=True)
  params, loss = train_lib.train_generalists(agent, data, jax.random.key(0), 2, 300, 0.01)
  assert np.all(np.isfinite(loss))
  one = jax.tree.map(lambda x: x[0], params)
  for slot in slots[1:]:
    view = agent_lib.TaskView(agent, slot.index, data.states.shape[-1], slot.act_size)
    states = datasets[slot.name][0].states
    logits, _ = view.apply(one, jnp.asarray(states))
    assert logits.shape == (len(states), slot.act_size)
    np.testing.assert_array_equal(jnp.argmax(logits, -1),
                                  np.argmax(datasets[slot.name][0].actions, -1))
    assert slot.head.act(None, logits, None, deterministic=True).dtype == jnp.int32


def test_a_categorical_point_uses_cross_entropy_not_the_gaussian():
  data, _ = combine.combine(_mixed_datasets())
  agent = agent_lib.make_agent(3, 3, width=16)
  params = agent.init(jax.random.key(0), data.states[0], data.task_ids[0])
  loss_fn = train_lib.make_multitask_loss(agent)
  out, _ = agent.apply(params, data.states, data.task_ids)
  # Cartpole's points: shifting both logits by a constant changes no probability (cross-
  # entropy), while a Gaussian NLL would change.
  shifted = jax.tree.map(lambda x: x, params)
  bias = shifted["params"]["Dense_2"]["bias"]
  shifted["params"]["Dense_2"]["bias"] = bias + 5.0
  only_cartpole = data.replace(weights=jnp.where(data.task_ids == 1, data.weights, 0.0))
  assert float(loss_fn(shifted, only_cartpole)) == pytest.approx(
      float(loss_fn(params, only_cartpole)), rel=1e-5)
  only_hopper = data.replace(weights=jnp.where(data.task_ids == 0, data.weights, 0.0))
  assert float(loss_fn(shifted, only_hopper)) > float(loss_fn(params, only_hopper)) + 1.0
  assert out.shape == (11, 3)


def test_parameter_sharing_counts_task_specific_layers():
  obs, ids = jnp.zeros((5,)), jnp.zeros((), jnp.int32)
  shared = agent_lib.make_agent(3, 6, 16, 2)
  p = shared.init(jax.random.key(0), obs, ids)
  # Only the task code (3 x 16) is task-specific.
  assert agent_lib.parameter_sharing(shared, p) == {
      "total": 524, "shared": 476, "shared_fraction": pytest.approx(476 / 524)}
  heads = agent_lib.make_agent(3, 6, 16, 2, per_task_heads=True, per_task_inputs=True)
  p = heads.init(jax.random.key(0), obs, ids)
  sharing = agent_lib.parameter_sharing(heads, p)
  assert sharing["shared"] == 16 * 16 + 16  # The one shared hidden layer.


def test_per_task_inputs_start_at_each_tasks_own_scale():
  """A small task next to a large one (hopper's 11 inputs, breakout's 400): its input layer is
  drawn for its own inputs (a single-task student's scale) and is zero on the padding."""
  agent = agent_lib.make_agent(2, 3, 64, 2, per_task_heads=True, per_task_inputs=True,
                               obs_sizes=[11, 400])
  p = agent.init(jax.random.key(0), jnp.zeros((400,)), jnp.zeros((), jnp.int32))["params"]
  small, large = p["input_0"]["kernel"], p["input_1"]["kernel"]
  assert small.shape == large.shape == (400, 64)
  assert float(jnp.abs(small[11:]).max()) == 0.0
  # Orthogonal(sqrt 2) rows: squared norm 2 per real input, as in an 11-input student.
  assert float(jnp.sum(small[:11] ** 2)) == pytest.approx(2 * 11, rel=1e-4)
  assert float(jnp.sum(large ** 2)) == pytest.approx(2 * 64, rel=1e-4)
