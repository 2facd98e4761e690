"""Task families and methods as plug-ins: the registries, a user's own task, Pendulum."""

import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO
from hades import config as config_lib
from hades import families
from hades import methods
from hades import tasks
from hades.configs import default
from hades.errors import ConfigError

POINT_MASS = "examples.custom_task:point_mass"
FAMILY_BRANCH = re.compile(
    r'\.family\b|\.minatar\b|method\s*[!=]=|[!=]=\s*"(supervised|gymnax|brax|params|dataset)"')


def test_nothing_outside_the_families_branches_on_a_family_or_a_method():
  found = []
  for top in ("hades", "multitask", "launch", "bench"):
    for root, _, names in os.walk(os.path.join(REPO, top)):
      if os.path.join("hades", "families") in root:
        continue
      for name in names:
        if name.endswith(".py"):
          path = os.path.join(root, name)
          for number, line in enumerate(open(path), 1):
            if FAMILY_BRANCH.search(line):
              found.append(f"{os.path.relpath(path, REPO)}:{number}: {line.strip()}")
  assert not found, "\n".join(found)


def test_every_task_has_a_registered_family_with_the_whole_interface():
  hooks = ("preset_groups", "make_env", "check_backend", "make_task_parts",
           "make_dataset_scorer", "evaluate_file", "describe_result", "plot_dataset",
           "check_renderer", "write_video")
  for name, family in families.FAMILIES.items():
    assert family.name == name and isinstance(family.step_unit, str)
    assert family.options_type is None or family.options_section in default.get_config()
    assert all(callable(getattr(family, hook)) for hook in hooks), name
  assert {spec.family for spec in tasks.TASKS.values()} <= set(families.FAMILIES)
  assert tasks.family_of("fashion_mnist").step_unit == "images"
  assert tasks.family_of("hopper").step_unit == "env-steps"


def test_the_builder_reads_the_config_once_into_typed_settings():
  """distill.task_settings is what a family gets: the student completed with the task's own,
  the family's own section as its options type; no family module imports ml_collections."""
  from hades import distill
  from hades.families import supervised as supervised_family

  config = config_lib.resolve_config(default.get_config(), {
      "task": "fashion_mnist", "data.metric": "cross_entropy", "student.width": 32,
      "eval.num_envs": 3})
  settings = distill.task_settings(config)
  assert settings.options == supervised_family.DataSettings(
      dir=config.data.dir, validation_size=5000, fitness_batch=config.data.fitness_batch,
      metric="cross_entropy", init=config.data.init,
      genome_upsample=config.data.genome_upsample)
  assert settings.student.width == 32 and settings.student.optimizer == "sgd"
  assert settings.eval_envs == 3 and settings.dataset_size == config.dataset.size
  hopper = distill.task_settings(config_lib.resolve_config(default.get_config(),
                                                           {"task": "hopper"}))
  assert hopper.options is None and hopper.student.bc_steps == 200
  for name in os.listdir(os.path.join(REPO, "hades", "families")):
    if name.endswith(".py"):
      assert "ml_collections" not in open(os.path.join(REPO, "hades", "families", name)).read()


def test_methods_say_what_they_write_and_their_defaults():
  assert methods.get_method("dataset").result_file == "dataset.npz"
  assert methods.get_method("params").result_file == "policy.npz"
  assert methods.get_method("dataset").default_num_students("random") == 2
  assert methods.get_method("dataset").default_num_students("fixed") == 1
  assert methods.get_method("params").default_num_students("random") == 1
  with pytest.raises(ConfigError, match="unknown method 'genes'"):
    methods.get_method("genes")


def test_a_users_module_registers_its_task_by_reference():
  assert tasks.resolve_task(POINT_MASS) == POINT_MASS
  spec = tasks.get_task(POINT_MASS)
  assert (spec.short_name, tasks.folder(POINT_MASS), spec.discrete) == (
      "point_mass", "point_mass", False)
  config = config_lib.resolve_config(default.get_config(), {"task": POINT_MASS})
  # The task's own defaults beat the file, the command line beats them.
  assert (config.task, config.es.num_generations, config.eval.num_steps) == (POINT_MASS, 60, 200)
  assert config.dataset.labels == "learned" and config.student.learning_rate == 5e-3
  config = config_lib.resolve_config(default.get_config(),
                                     {"task": POINT_MASS, "es.num_generations": 3})
  assert config.es.num_generations == 3
  # The runner takes a resolved config as it is: the task's defaults are not applied again.
  assert config_lib.ensure_resolved(config).es.num_generations == 3
  with pytest.raises(ConfigError, match="cannot import task module 'no_such_pkg.tasks'"):
    tasks.resolve_task("no_such_pkg.tasks:thing")
  with pytest.raises(ConfigError, match="registers no task 'pointmass'.*point_mass"):
    tasks.resolve_task("examples.custom_task:pointmass")


def test_point_mass_steps_by_hand():
  """One env, zero force from rest: the mass stays put and every reward is minus its distance
  to the goal; the 100th step ends the episode (time limit) and starts the next one."""
  env = tasks.make_env(POINT_MASS)
  assert (env.observation_size, env.action_size, env.num_actions) == (6, 2, 0)
  state = env.reset(jax.random.key(0))
  obs = np.asarray(state.obs)
  distance = np.linalg.norm(obs[4:])
  rewards, dones = [], []
  step = jax.jit(env.step)
  for _ in range(100):
    state = step(state, jnp.zeros(2))
    rewards.append(float(state.reward))
    dones.append(float(state.done))
  np.testing.assert_allclose(rewards, -distance, rtol=1e-6)
  assert dones == [0.0] * 99 + [1.0]
  # A unit force towards the goal: the distance shrinks every step.
  state = env.reset(jax.random.key(1))
  direction = np.asarray(state.obs)[4:] / np.linalg.norm(np.asarray(state.obs)[4:])
  before = np.linalg.norm(np.asarray(state.obs)[4:])
  for _ in range(5):
    state = step(state, jnp.asarray(direction))
  assert np.linalg.norm(np.asarray(state.obs)[4:]) < before


def test_pendulum_is_a_continuous_gymnax_task():
  spec = tasks.get_task("pendulum")
  env = tasks.make_env("pendulum")
  assert (env.observation_size, env.action_size, env.num_actions, env.episode_length) == (
      3, 1, 0, 200)
  assert not spec.discrete and not tasks.make_head("pendulum").discrete
  state = jax.jit(env.step)(env.reset(jax.random.key(0)), jnp.array([2.0]))
  cos, sin, _ = np.asarray(state.obs)
  assert np.isclose(cos**2 + sin**2, 1.0, atol=1e-5) and float(state.reward) <= 0.0


def test_launcher_takes_a_users_task_on_the_command_line(tmp_path):
  """--dry_run resolves a user's task reference in a fresh process (the module is imported)."""
  result = subprocess.run(
      [sys.executable, "-m", "launch.distill", f"--task={POINT_MASS}", "--dry_run"], cwd=REPO,
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert f'"task": "{POINT_MASS}"' in result.stdout
  bad = subprocess.run(
      [sys.executable, "-m", "launch.distill", "--task=examples.nope:x", "--dry_run"], cwd=REPO,
      capture_output=True, text=True, timeout=300)
  assert bad.returncode == 2 and "error: cannot import task module 'examples.nope'" in bad.stderr


def _run(module, *args):
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_a_users_task_distils_and_every_launcher_takes_it(tmp_path):
  """A short distillation of the example's point mass, then evaluate, report and the
  generalist, all through the `module:name` reference: hades needs no file of its own."""
  workdir = tmp_path / "w"
  distilled = _run("launch.distill", f"--task={POINT_MASS}", f"--workdir={workdir}",
                   "--config.es.num_generations=4", "--config.es.population_size=8",
                   "--config.final_eval.num_students=2", "--progress=plain")
  assert distilled.returncode == 0, distilled.stderr[-3000:]
  run = workdir / "point_mass"
  summary = json.loads((run / "summary.json").read_text())
  assert summary["task"] == POINT_MASS and summary["num_students"] == 2
  assert summary["generations"] == 4  # The command line beats the task's own defaults.
  assert json.loads((run / "config.json").read_text())["task"] == POINT_MASS
  scored = _run("launch.evaluate", f"--dataset={run / 'dataset.npz'}", "--num_students=2",
                "--num_steps=200")
  assert scored.returncode == 0, scored.stderr[-3000:]
  result = json.loads(scored.stdout)
  assert result["task"] == POINT_MASS and result["num_students"] == 2
  assert len(result["per_student"]) == 2 and np.isfinite(result["return_mean"])
  reported = _run("launch.report", f"--workdir={workdir}")
  assert reported.returncode == 0, reported.stderr[-3000:]
  assert (run / "dataset.png").stat().st_size > 0 and "point_mass" in (
      workdir / "report.md").read_text()
  trained = _run("launch.train_multitask", f"--workdir={workdir}", f"--tasks={POINT_MASS}",
                 "--config.train.bc_steps=20", "--config.train.num_seeds=2")
  assert trained.returncode == 0, trained.stderr[-3000:]
  assert json.loads((workdir / "multitask" / "config.json").read_text())["tasks"] == [POINT_MASS]
