"""Config resolution: file < its per-task preset < command line, always."""

import ml_collections
import pytest

import conftest
from hades import config as config_lib
from hades.configs import cpu15
from hades.configs import default
from hades.configs import paper
from hades.errors import ConfigError


def test_paper_config_has_no_cpu_shortcuts():
  resolved = config_lib.resolve_config(paper.get_config(), {"task": "ant"})
  assert resolved.es.num_generations == 2000 and resolved.es.population_size == 2048
  assert resolved.student.width == 512 and resolved.student.bc_steps == 400
  assert config_lib.resolve_config(paper.get_config(), {"task": "hopper"}).student.bc_steps == 200
  # Discrete tasks: the paper's MinAtar setting.
  breakout = config_lib.resolve_config(paper.get_config(), {"task": "breakout"})
  assert (breakout.es.strategy, breakout.es.population_size, breakout.es.sigma) == ("SNES", 2048,
                                                                                   0.5)
  assert breakout.es.num_generations == 2000 and breakout.dataset.size == 16
  assert (breakout.student.width, breakout.student.activation, breakout.student.bc_steps,
          breakout.student.learning_rate) == (512, "relu", 64, 0.03)
  assert (breakout.eval.num_envs, breakout.eval.num_steps) == (8, 1024)
  assert breakout.dataset.labels == "fixed" and breakout.dataset.normalization == "constant"


@pytest.mark.parametrize("task", ["hopper", "walker2d"])
def test_cpu15_fitness_runs_the_final_horizon(task):
  # At 1000 fitness steps the ES could not see students that fall right after the reset, which
  # the 1024-step final score halves (docs/experiments/2026-11-27_cpu15.md).
  resolved = config_lib.resolve_config(cpu15.get_config(), {"task": task})
  assert resolved.eval.num_steps == resolved.final_eval.num_steps == 1024
  assert resolved.validation.every_generations > 0


def test_command_line_beats_the_task_preset():
  # The CPU preset for ant says the spring backend and 300-step fitness; what the user typed
  # wins.
  typed = {"env.backend": "positional", "eval.num_steps": 1000, "task": "ant"}
  config = default.get_config()
  config.env.backend = "positional"  # As config_flags applies them before the task is known.
  config.eval.num_steps = 1000
  resolved = config_lib.resolve_config(config, typed)
  assert (resolved.env.backend, resolved.eval.num_steps) == ("positional", 1000)
  preset = config_lib.resolve_config(default.get_config(), {"task": "ant"})
  assert (preset.env.backend, preset.eval.num_steps) == ("spring", 500)
  assert default.get_config().env.backend == "positional"  # The file's value, for the others.
  # The preset beats the file's value for the same field.
  assert config_lib.resolve_config(default.get_config(), {"task": "walker"}).task == "walker2d"
  assert config_lib.resolve_config(default.get_config(),
                                   {"task": "walker"}).es.num_generations == 50


def test_resolved_config_is_self_contained_and_idempotent():
  resolved = config_lib.resolve_config(default.get_config(), {"task": "ant"})
  assert "task_presets" not in resolved
  again = config_lib.resolve_config(resolved)
  assert again.to_dict() == resolved.to_dict()
  assert config_lib.config_hash(again) == config_lib.config_hash(resolved)


def test_task_defaults_fill_zero_fields():
  config = conftest.tiny_config(task="walker", **{"student.bc_steps": 0})
  config.task_presets = ml_collections.ConfigDict({"walker2d": {"es": {"sigma": 0.1}}})
  resolved = config_lib.resolve_config(config)
  assert resolved.task == "walker2d" and resolved.es.sigma == 0.1
  assert resolved.student.bc_steps == 400
  assert resolved.hades.num_students == 2  # 0: the mode's default.
  fixed = config_lib.resolve_config(conftest.tiny_config(**{"hades.mode": "F"}))
  assert fixed.hades.mode == "fixed" and fixed.hades.num_students == 1
  with pytest.raises(ConfigError, match="HaDES-F trains one fixed student"):
    config_lib.resolve_config(conftest.tiny_config(**{"hades.mode": "F",
                                                      "hades.num_students": 3}))


def test_unknown_override_is_a_config_error():
  with pytest.raises(ConfigError, match="unknown config field 'es.nope'"):
    config_lib.resolve_config(default.get_config(), {"es.nope": 1})


def test_hash_ignores_logging_but_not_results():
  a = config_lib.resolve_config(default.get_config())
  b = config_lib.resolve_config(default.get_config(), {"log.generations_per_call": 2,
                                                       "checkpoint.keep_latest": 5})
  c = config_lib.resolve_config(default.get_config(), {"es.sigma": 0.05})
  assert config_lib.config_hash(a) == config_lib.config_hash(b)
  assert config_lib.config_hash(a) != config_lib.config_hash(c)


def test_config_differences_ignores_prefixes():
  a = {"es": {"num_generations": 10, "sigma": 0.03}, "log": {"x": 1}}
  b = {"es": {"num_generations": 20, "sigma": 0.05}, "log": {"x": 2}}
  assert config_lib.config_differences(a, b) == ["es.num_generations", "es.sigma", "log.x"]
  assert config_lib.config_differences(a, b, ignore=("es.num_generations", "log.")) == [
      "es.sigma"]


@pytest.mark.parametrize("values, message", [
    ({"final_eval.num_students": 0}, "final_eval.num_students must be >= 1"),
    ({"final_eval.num_steps": 0}, "final_eval.num_steps must be >= 1"),
    ({"checkpoint.keep_latest": 0, "checkpoint.keep_best": 0}, "keep_latest must be >= 1"),
    ({"checkpoint.keep_best": -1}, "keep_best must be >= 0"),
    ({"es.sigma": 0.0, "es.sigma_limit": 0.0}, "es.sigma must be > 0"),
    ({"es.learning_rate": -0.1}, "es.learning_rate must be > 0"),
    # 0.3 * 0.5**200 underflows: the schedule reaches zero long before the run ends.
    ({"es.sigma_decay": 0.5, "es.sigma_limit": 0.0, "es.num_generations": 200},
     "reaches zero"),
])
def test_values_that_would_fail_after_the_generations_are_refused_up_front(values, message):
  with pytest.raises(ConfigError, match=message):
    config_lib.resolve_config(default.get_config(), {"task": "cartpole", **values})


def test_the_papers_decaying_supervised_schedule_is_accepted():
  """sigma x0.999 per generation without a floor (the paper) stays far from zero in 2000."""
  config = config_lib.resolve_config(paper.get_config(), {"task": "fashion_mnist"})
  assert config.es.sigma_decay < 1.0 and config.es.sigma_limit == 0.0


@pytest.mark.parametrize("arrays, message", [
    (None, "cannot read obs_mean/obs_var"),  # An empty file.
    ({"obs_mean": [0.0, 1.0]}, "cannot read obs_mean/obs_var"),  # No variances.
    ({"obs_mean": [0.0, 1.0], "obs_var": [1.0]}, "shapes"),
    ({"obs_mean": [0.0, float("nan")], "obs_var": [1.0, 1.0]}, "finite"),
    ({"obs_mean": [0.0, 1.0], "obs_var": [1.0, 0.0]}, "obs_var > 0"),
])
def test_observation_statistics_files_are_checked_when_resolved(tmp_path, arrays, message):
  import numpy as np

  path = tmp_path / "stats.npz"
  if arrays is None:
    path.write_bytes(b"")
  else:
    np.savez(path, **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
  with pytest.raises(ConfigError, match=message):
    config_lib.resolve_config(default.get_config(), {
        "task": "hopper", "dataset.normalization": "constant", "dataset.obs_stats": str(path)})
