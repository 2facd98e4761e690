"""The neuroevolution baseline (method='params') and launch.study's grids, tables and resume."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import conftest
from conftest import REPO
from hades import config as config_lib
from hades import studies
from hades import study as study_lib
from hades.configs import study as study_config
from hades.errors import ConfigError


def _base():
  config = conftest.tiny_config("cartpole")
  config.eval.num_steps = 50
  return config


def test_neuroevolution_grid_spends_equal_env_steps():
  settings = study_config.get_config().neuroevolution
  runs = studies.make_runs("neuroevolution", _base(), ["cartpole"], 2, settings,
                             {"es.population_size": 8})
  assert [r.name for r in runs] == ["cartpole/HaDES/seed0", "cartpole/params/seed0",
                                    "cartpole/HaDES/seed1", "cartpole/params/seed1"]
  hades, params = runs[0].config, runs[1].config
  assert (hades.method, params.method) == ("dataset", "params")
  assert params.hades.num_students == 1 and hades.hades.num_students == 2
  assert params.es.population_size == hades.es.population_size == 8  # The command line wins.
  assert params.es.sigma == settings.params.es.sigma
  spent = lambda c: study_lib.env_steps_per_generation(c) * c.es.num_generations  # noqa: E731
  assert spent(params) == spent(hades)
  assert runs[2].seed == 1


def test_dataset_size_and_init_mode_grids():
  sizes = study_config.get_config().dataset_size
  runs = studies.make_runs("dataset_size", conftest.tiny_config("hopper"), ["hopper"], 1, sizes)
  assert [r.config.dataset.size for r in runs] == list(sizes.sizes)
  assert [r.x for r in runs] == [float(s) for s in sizes.sizes]
  assert runs[0].name == "hopper/D1/seed0"
  # A size the task's labels cannot hold (cartpole: fixed one-hot labels, 2 actions).
  with pytest.raises(ConfigError, match="D=1|dataset size|actions"):
    studies.make_runs("dataset_size", _base(), ["cartpole"], 1, sizes)
  modes = studies.make_runs("init_mode", _base(), ["cartpole"], 1,
                              study_config.get_config().init_mode)
  assert [(r.series, r.config.hades.mode, r.config.hades.num_students) for r in modes] == [
      ("HaDES-R", "random", 2), ("HaDES-F", "fixed", 1)]


def test_student_width_grid_pairs_the_methods_at_each_width_at_equal_env_steps():
  settings = study_config.get_config().student_width
  settings.widths = (16, 48)
  settings.params.student = {"width": 256}  # A width in the params settings: the grid's wins.
  runs = studies.make_runs("student_width", _base(), ["cartpole"], 1, settings)
  assert [(r.series, r.x, r.config.method, r.config.student.width) for r in runs] == [
      ("HaDES_w16", 16.0, "dataset", 16), ("params_w16", 16.0, "params", 16),
      ("HaDES_w48", 48.0, "dataset", 48), ("params_w48", 48.0, "params", 48)]
  spent = lambda c: study_lib.env_steps_per_generation(c) * c.es.num_generations  # noqa: E731
  assert spent(runs[0].config) == spent(runs[1].config)
  assert runs[1].config.es.sigma == settings.params.es.sigma
  with pytest.raises(ConfigError, match="varies student.width"):
    studies.make_runs("student_width", _base(), ["cartpole"], 1, settings,
                      {"student.width": 32})
  settings.widths = ()
  with pytest.raises(ConfigError, match="positive integers"):
    studies.make_runs("student_width", _base(), ["cartpole"], 1, settings)


@pytest.mark.parametrize("study,cli,message", [
    ("dataset_size", {"dataset.size": 8}, "varies dataset.size"),
    ("neuroevolution", {"method": "params"}, "varies method"),
    ("nope", {}, "unknown study"),
])
def test_bad_grids_are_config_errors(study, cli, message):
  settings = study_config.get_config().get(study, study_config.get_config().dataset_size)
  with pytest.raises(ConfigError, match=message):
    studies.make_runs(study, _base(), ["cartpole"], 1, settings, cli)


def test_bad_sizes_and_unknown_method_are_config_errors():
  settings = study_config.get_config().dataset_size
  settings.sizes = (0, 4)
  with pytest.raises(ConfigError, match="positive"):
    studies.make_runs("dataset_size", _base(), ["cartpole"], 1, settings)
  with pytest.raises(ConfigError, match="unknown method"):
    config_lib.resolve_config(_base(), {"method": "weights"})


def test_summary_means_standard_errors_and_markdown():
  assert study_lib.mean_and_stderr([1.0, 3.0]) == (2.0, 1.0, 2)
  assert study_lib.mean_and_stderr([5.0]) == (5.0, 0.0, 1)
  assert math.isnan(study_lib.mean_and_stderr([])[0])
  runs = studies.make_runs("init_mode", _base(), ["cartpole"], 2,
                             study_config.get_config().init_mode)
  results = {r.name: {"return_mean": 100.0 + r.seed * 10, "wall_time": 60.0} for r in runs}
  transfer = {r.name: {"own": {"return_mean": 100.0}, "width=32": {"return_mean": 50.0 + r.seed}}
              for r in runs}
  summary = study_lib.summarize("init_mode", runs, results, transfer)
  row = summary["tasks"]["cartpole"]["HaDES-R"]
  assert (row["mean"], row["stderr"], row["n"]) == (105.0, 5.0, 2)
  assert row["transfer"]["width=32"]["mean"] == 50.5
  assert summary["runs_wall_time"] == 60.0 * len(runs)
  text = study_lib.markdown(summary)
  assert f"Run time: {60.0 * len(runs) / 3600:.2f} h" in text
  assert "| HaDES-R | 105.0 +- 5.0 | 2 |" in text and "| width=32 | 50.5 +- 0.5 |" in text
  variants = studies.transfer_students(study_config.get_config().init_mode)
  assert variants["own"] == {} and variants["width=32"] == {"width": 32}


def test_neuroevolution_run_resumes_exactly_and_writes_its_policy(tmp_path):
  """method='params' runs through the HaDES host loop: its ES starts from initialised weights,
  resume is exact, and policy.npz holds the selected weights."""
  from hades import neuroevolution
  from hades import runner

  def config(gens):
    c = _base()
    c.method = "params"
    c.es.num_generations = gens
    c.es.sigma, c.es.sigma_decay = 0.05, 1.0
    c.validation.every_generations = 2
    c.validation.num_students = 2
    return config_lib.resolve_config(c)

  straight = runner.distill(config(4), str(tmp_path / "a"), log=lambda s: None)
  runner.distill(config(2), str(tmp_path / "b"), log=lambda s: None)
  resumed = runner.distill(config(4), str(tmp_path / "b"), log=lambda s: None)
  a = neuroevolution.load_policy(str(tmp_path / "a" / "policy.npz"))
  b = neuroevolution.load_policy(str(tmp_path / "b" / "policy.npz"))
  leaves = lambda p: [np.asarray(x) for x in __import__("jax").tree.leaves(p)]  # noqa: E731
  assert all(np.array_equal(x, y) for x, y in zip(leaves(a), leaves(b)))
  assert straight["return_mean"] == resumed["return_mean"]
  assert straight["num_weights"] == sum(x.size for x in leaves(a)) > 100
  assert not os.path.exists(tmp_path / "a" / "dataset.npz")
  # The ES started from an initialised network, not from zeros: its initial weights act.
  assert any(np.abs(x).sum() > 0 for x in leaves(a))
  assert np.isfinite(straight["initial_policy_return"])


def test_runs_differing_in_seed_share_compiled_programs_exactly(tmp_path):
  """A study's runs of one grid point reuse the first run's jitted generations and scorer
  (no retrace), and give what a freshly built program gives."""
  from hades import dataset as dataset_lib
  from hades import evaluation
  from hades import runner

  def config(seed):
    c = _base()
    c.seed = seed
    return config_lib.resolve_config(c)

  def dataset(name):
    data = dataset_lib.load(str(tmp_path / name / "dataset.npz"))[0]
    return np.asarray(data.states), np.asarray(data.actions)

  runner._PROGRAMS.clear()
  evaluation._SCORERS.clear()
  runner.distill(config(0), str(tmp_path / "seed0"), log=lambda s: None)
  shared = runner.distill(config(1), str(tmp_path / "shared"), log=lambda s: None)
  assert len(runner._PROGRAMS) == 1 and len(evaluation._SCORERS) == 1  # Built once.
  runner._PROGRAMS.clear()
  evaluation._SCORERS.clear()
  fresh = runner.distill(config(1), str(tmp_path / "fresh"), log=lambda s: None)
  assert shared["return_mean"] == fresh["return_mean"]
  assert all(np.array_equal(a, b) for a, b in zip(dataset("shared"), dataset("fresh")))
  assert not np.array_equal(dataset("seed0")[0], dataset("shared")[0])  # Seeds still differ.


def _study_cmd(workdir):
  return [sys.executable, "-m", "launch.study", "--study=dataset_size", "--tasks=cartpole",
          "--num_seeds=1", f"--workdir={workdir}", "--progress=plain", "--cpu_devices=1",
          "--study_config.dataset_size.sizes=(2, 4)",
          "--config.es.population_size=4", "--config.es.num_generations=3",
          "--config.student.width=8", "--config.student.bc_steps=5",
          "--config.eval.num_steps=50", "--config.final_eval.num_students=2",
          "--config.final_eval.num_steps=50", "--config.validation.num_students=2"]


@pytest.mark.slow
def test_killed_study_continues_where_it_stopped(tmp_path):
  workdir = tmp_path / "study"
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  proc = subprocess.Popen(_study_cmd(workdir), cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env)
  first = workdir / "cartpole" / "D2" / "seed0" / "summary.json"
  t0 = time.time()
  while not first.exists():
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    assert time.time() - t0 < 300, "the study did not finish its first run"
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (workdir / "study.json").exists()
  done = subprocess.run(_study_cmd(workdir), cwd=REPO, capture_output=True, text=True, env=env,
                        timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  assert "cartpole/D2/seed0] already finished with this config; skipping" in done.stderr
  with open(workdir / "study.json") as f:
    study = json.load(f)
  rows = study["tasks"]["cartpole"]
  assert set(rows) == {"D2", "D4"} and all(r["n"] == 1 for r in rows.values())
  # The study's run time is every run's whole time, the killed invocation's finished run too.
  assert study["runs_wall_time"] == pytest.approx(
      sum(r["wall_time"] for r in study["runs"].values()))
  assert set(study["runs"]) == {"cartpole/D2/seed0", "cartpole/D4/seed0"}
  assert (workdir / "study.md").exists() and (workdir / "dataset_size_cartpole.png").exists()
  # Bad study input: one line, exit 2, the finished study untouched.
  bad = subprocess.run(_study_cmd(workdir) + ["--config.dataset.size=8"], cwd=REPO,
                       capture_output=True, text=True, env=env, timeout=300)
  assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error:")
  with open(workdir / "study.json") as f:
    assert json.load(f) == study


def test_study_figures_plot_the_rows_they_are_given():
  """Return vs D (this run and the paper's files), the seeds' band of learning curves, and the
  transfer heat-map's ratios to the run's own student."""
  from hades import study_plots

  rows = {"D2": {"x": 2.0, "mean": 10.0, "stderr": 1.0},
          "D8": {"x": 8.0, "mean": 30.0, "stderr": 2.0}}
  paper = {"4": {"mean": 20.0, "stderr": 0.5}}
  (ax,) = study_plots.dataset_size_figure("hopper", rows, paper).axes
  ours, theirs = ax.containers
  np.testing.assert_array_equal(ours.lines[0].get_xdata(), [2, 8])
  np.testing.assert_array_equal(ours.lines[0].get_ydata(), [10, 30])
  np.testing.assert_array_equal(theirs.lines[0].get_ydata(), [20])
  curves = {"HaDES": [{"env_steps": [1, 2, 3], "wall_time": [1, 2, 3], "return": [1, 5, 9]},
                      {"env_steps": [1, 2], "wall_time": [1, 2], "return": [3, 7]}]}
  left = study_plots.curves_figure("hopper", curves).axes[0]
  np.testing.assert_array_equal(left.lines[0].get_xdata(), [1, 2])  # Cut to the common length.
  np.testing.assert_array_equal(left.lines[0].get_ydata(), [2, 6])
  transfer = {"own": {"mean": 100.0}, "width=64": {"mean": 50.0}, "width=256": {"mean": 120.0},
              "depth=1": {"mean": 80.0}}
  fig = study_plots.transfer_figure("hopper", {"HaDES-R": {"transfer": transfer},
                                               "HaDES-F": {}})
  (heat,) = [a for a in fig.axes if a.images]
  np.testing.assert_allclose(heat.images[0].get_array().filled(np.nan),
                             [[0.5, 1.2], [0.8, np.nan]])
  assert study_plots.transfer_figure("hopper", {"HaDES-R": {}}) is None
  widths = {"HaDES_w64": {"x": 64.0, "mean": 900.0, "stderr": 10.0},
            "params_w64": {"x": 64.0, "mean": 950.0, "stderr": 20.0},
            "HaDES_w512": {"x": 512.0, "mean": 1000.0, "stderr": 5.0},
            "params_w512": {"x": 512.0, "mean": 300.0, "stderr": 30.0}}
  (ax,) = study_plots.student_width_figure("hopper", widths).axes
  hades, params = ax.containers
  np.testing.assert_array_equal(hades.lines[0].get_xdata(), [64, 512])
  np.testing.assert_array_equal(hades.lines[0].get_ydata(), [900, 1000])
  np.testing.assert_array_equal(params.lines[0].get_ydata(), [950, 300])
  assert [t.get_text() for t in ax.get_legend().get_texts()] == ["HaDES (dataset)",
                                                                  "ES on the weights"]
