"""Discrete-action tasks: categorical heads, label layouts, BC, gymnax rollouts, configs, files."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import conftest
from hades import config as config_lib
from hades import dataset as dataset_lib
from hades import distill
from hades import policy as policy_lib
from hades import rollout
from hades import student as student_lib
from hades import tasks
from hades.errors import ConfigError

MINATAR_DIR = os.path.join(os.path.dirname(conftest.REFERENCE_DIR), "reference", "minatar")


def test_registry_knows_families_and_action_spaces():
  assert tasks.get_task("hopper").family == "brax" and not tasks.get_task("hopper").discrete
  for name, actions in (("cartpole", 2), ("acrobot", 3), ("breakout", 3),
                        ("space_invaders", 4), ("asterix", 5), ("freeway", 3), ("seaquest", 6)):
    spec = tasks.get_task(name)
    assert spec.family == "gymnax" and spec.num_actions == actions
    assert tasks.make_env(name).action_size == actions
  assert tasks.resolve_task("Breakout-MinAtar") == "breakout"
  assert tasks.resolve_task("CartPole-v1") == "cartpole"
  assert isinstance(tasks.make_head("breakout", "learned"), policy_lib.CategoricalHead)
  assert isinstance(tasks.make_head("hopper"), policy_lib.GaussianHead)
  # Each env keeps its own time limit unless the config sets one.
  assert tasks.make_env("cartpole").episode_length == 500
  assert tasks.make_env("freeway").episode_length == 2500
  assert tasks.make_env("cartpole", episode_length=50).episode_length == 50


def test_fixed_labels_are_balanced_and_only_states_evolve():
  labels = dataset_lib.fixed_labels(16, 3)  # The paper's Breakout: k=5, one state unused.
  assert labels.shape == (15, 3)
  np.testing.assert_array_equal(labels.argmax(-1), [0] * 5 + [1] * 5 + [2] * 5)
  layout = dataset_lib.make_layout(16, 400, 3, "fixed", discrete=True)
  assert layout.template.states.shape == (15, 400) and layout.template.actions.shape == (15, 0)
  population = dataset_lib.SyntheticDataset(jnp.ones((7, 15, 400)), jnp.zeros((7, 15, 0)))
  data = layout.to_dataset(population)
  assert data.actions.shape == (7, 15, 3)
  np.testing.assert_array_equal(data.actions[3], labels)
  learned = dataset_lib.make_layout(16, 400, 3, "learned", discrete=True)
  assert learned.template.actions.shape == (16, 3)
  assert learned.to_dataset(learned.template) is learned.template


@pytest.mark.parametrize("overrides,message", [
    ({"task": "breakout", "dataset.size": 2}, "smaller than the 3 actions"),
    ({"task": "hopper", "dataset.labels": "fixed"}, "needs a discrete-action task"),
    ({"task": "cartpole", "dataset.labels": "soft"}, "unknown dataset.labels"),
    ({"task": "cartpole", "es.optimizer": "rmsprop"}, "unknown es.optimizer"),
])
def test_bad_discrete_settings_are_config_errors(overrides, message):
  with pytest.raises(ConfigError, match=message):
    config = config_lib.resolve_config(conftest.tiny_config(), overrides)
    distill.build(config)


def test_presets_apply_family_then_minatar_then_task_and_the_command_line_wins():
  from hades.configs import default

  config = config_lib.resolve_config(default.get_config(), {"task": "breakout"})
  assert config.dataset.labels == "fixed"  # auto -> fixed for discrete tasks
  assert config.student.learning_rate == 0.03  # gymnax family preset
  assert config.dataset.normalization == "constant" and config.dataset.size == 16  # minatar
  config = config_lib.resolve_config(default.get_config(),
                                     {"task": "breakout", "dataset.size": 6,
                                      "student.learning_rate": 0.01})
  assert config.dataset.size == 6 and config.student.learning_rate == 0.01
  config = config_lib.resolve_config(default.get_config(), {"task": "cartpole"})
  assert config.dataset.normalization == "running" and config.dataset.labels == "fixed"
  hopper = config_lib.resolve_config(default.get_config(), {"task": "hopper"})
  assert hopper.dataset.labels == "learned" and hopper.student.learning_rate == 5e-3


def test_categorical_head_likelihood_and_actions():
  fixed, learned = policy_lib.CategoricalHead("fixed"), policy_lib.CategoricalHead("learned")
  logits = jnp.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
  onehot = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
  np.testing.assert_allclose(fixed.log_likelihood(logits, None, onehot),
                             jax.nn.log_softmax(logits)[jnp.arange(2), jnp.array([1, 0])],
                             rtol=1e-6)
  soft = jnp.array([[0.0, 1.0, 2.0], [3.0, 3.0, 3.0]])
  expected = jnp.sum(jax.nn.softmax(soft) * jax.nn.log_softmax(logits), -1)
  np.testing.assert_allclose(learned.log_likelihood(logits, None, soft), expected, rtol=1e-6)
  # A mask (multi-task padding) removes actions the task does not have, from both sides.
  mask = jnp.array([1.0, 1.0, 0.0])
  np.testing.assert_allclose(learned.log_likelihood(logits, None, soft, mask),
                             jnp.sum(jax.nn.softmax(soft[:, :2]) * jax.nn.log_softmax(
                                 logits[:, :2]), -1), rtol=1e-5)
  assert fixed.act(None, logits, None, deterministic=True).tolist() == [0, 0]
  samples = fixed.act(jax.random.key(0), jnp.broadcast_to(logits[0], (20000, 3)), None)
  assert samples.dtype == jnp.int32
  np.testing.assert_allclose(np.bincount(samples, minlength=3) / 20000,
                             jax.nn.softmax(logits[0]), atol=0.015)


@pytest.mark.parametrize("labels", ["fixed", "learned"])
def test_categorical_bc_fits_both_label_layouts(labels):
  """BC with the cross-entropy loss makes a fresh student pick each state's label (learned
  logits: the argmax of the label logits)."""
  head = policy_lib.CategoricalHead(labels)
  settings = student_lib.StudentSettings(width=32, activation="relu", learning_rate=0.03,
                                         max_grad_norm=0.0, bc_steps=64)
  student = student_lib.make_student(8, 3, settings, head)
  states = jax.random.normal(jax.random.key(1), (6, 8))
  targets = jnp.array([0, 0, 1, 1, 2, 2])
  actions = (jnp.eye(3)[targets] if labels == "fixed"
             else 3.0 * jax.random.normal(jax.random.key(2), (6, 3)))
  data = dataset_lib.SyntheticDataset(states, actions)
  params = jax.tree.map(lambda x: x[0], student.init_params(jax.random.key(0)[None]))
  assert "log_std" not in params["params"]  # Categorical students have no std parameter.
  trained, bc_loss = jax.jit(student.train)(params, data)
  logits, _ = student.policy.apply(trained, states)
  np.testing.assert_array_equal(jnp.argmax(logits, -1), jnp.argmax(actions, -1))
  # Cross-entropy is bounded below by the targets' entropy (0 for one-hots): reached.
  target = head.target(actions)
  entropy = -jnp.mean(jnp.sum(jnp.where(target > 0, target * jnp.log(target), 0.0), -1))
  assert float(bc_loss) == pytest.approx(float(entropy), abs=0.05)


def test_gymnax_rollout_counts_finished_episodes():
  """A student on CartPole: every env finishes episodes within 500 steps of a poor policy and
  the fitness is their mean return; sampled actions differ from greedy ones."""
  env = tasks.make_env("cartpole")
  head = policy_lib.CategoricalHead("fixed")
  student = student_lib.make_student(4, 2, student_lib.StudentSettings(width=16), head)
  params = jax.tree.map(lambda x: x[0], student.init_params(jax.random.key(0)[None]))
  evaluate = jax.jit(rollout.make_evaluate(env, student.policy, 3, 500, "running", head=head))
  result = evaluate(params, jax.random.key(1))
  assert result.num_episodes >= 3
  assert float(result.return_sum) == pytest.approx(float(result.fitness * result.num_episodes))
  # CartPole pays 1 per step: the finished episodes' returns plus each env's unfinished tail
  # are exactly the 3 x 500 steps taken.
  assert float(result.return_sum) + 3 * float(result.partial_return) == pytest.approx(1500.0)
  assert float(result.return_sq_sum) >= float(result.return_sum) ** 2 / float(
      result.num_episodes) - 1e-3  # Sum of squares >= (sum)^2 / n.


def test_discrete_generation_step_runs_and_keeps_labels_fixed():
  config = config_lib.resolve_config(conftest.tiny_config("cartpole"),
                                     {"eval.num_steps": 50, "dataset.size": 4})
  components = distill.build(config)
  assert components.strategy.num_dims == 4 * 4  # States only: 2 per action, obs 4.
  state = distill.init_state(components, 0)
  run = distill.make_distill_run(distill.make_distill_step(components), 2)
  state, metrics = run(state)
  assert np.all(np.isfinite(metrics["fitness/mean"]))
  data = distill.mean_dataset(components, state)
  np.testing.assert_array_equal(data.actions, dataset_lib.fixed_labels(4, 2))
  assert np.any(np.asarray(data.states) != 0)


def test_fitness_width_scores_candidates_with_narrower_students():
  """hades.fitness_width=8: the ES runs exactly as with width-8 students, while validation
  (and everything downstream) trains the dataset's width-16 students."""
  def components(overrides):
    config = config_lib.resolve_config(
        conftest.tiny_config("cartpole"),
        {"eval.num_steps": 50, "student.width": 16, "validation.every_generations": 1,
         **overrides})
    return distill.build(config)

  proxied, narrow = components({"hades.fitness_width": 8}), components({"student.width": 8})
  assert proxied.student.width == 16 and narrow.student.width == 8
  assert jax.tree.leaves(proxied.init_params(jax.random.key(0)[None]))[0].shape[-1] == 16
  runs = []
  for c in (proxied, narrow):
    run = distill.make_distill_run(distill.make_distill_step(c), 2)
    runs.append(jax.device_get(run(distill.init_state(c, 0))))
  (state_a, metrics_a), (state_b, metrics_b) = runs
  for name in ("fitness/mean", "fitness/max", "fitness/min"):
    np.testing.assert_allclose(metrics_a[name], metrics_b[name], rtol=1e-6)
  np.testing.assert_allclose(state_a.es_state.mean, state_b.es_state.mean, rtol=1e-6)
  # The same ES means, validated by students of different widths.
  assert not np.allclose(metrics_a["validation/return"], metrics_b["validation/return"])


def test_released_minatar_file_loads_as_a_fixed_label_dataset():
  path = os.path.join(MINATAR_DIR, "minatar_Breakout-MinAtar_D16_distill_seed0.npz")
  if not os.path.exists(path):
    pytest.skip("reference MinAtar datasets not present")
  data, info = dataset_lib.load(path)
  assert data.states.shape == (15, 400) and data.actions.shape == (15, 3)
  np.testing.assert_array_equal(np.asarray(data.actions).argmax(-1), [0] * 5 + [1] * 5 + [2] * 5)
  assert info.task == "breakout" and info.labels == "fixed" and info.eval_envs == 8
  assert info.normalization == "constant" and info.obs_mean.shape == (400,)
  assert info.student["activation"] == "relu" and info.student["max_grad_norm"] == 0.0
  assert info.student["bc_steps"] == 64
