"""Launchers as users run them: subprocesses, files on disk, exit codes."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REFERENCE_DIR, REPO

TINY = ["--config.dataset.size=4", "--config.student.width=8", "--config.student.bc_steps=5",
        "--config.eval.num_envs=1", "--config.eval.num_steps=20",
        "--config.final_eval.num_students=2", "--config.final_eval.num_envs=1",
        "--config.final_eval.num_steps=20", "--config.log.generations_per_call=1"]


def _run(module, *args, timeout=600):
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,message", [
    (["--task=hoper"], "unknown task 'hoper'"),
    (["--config.es.population_size=7"], "must be even"),
    (["--config.es.strategy=NoSuchES"], "unknown ES strategy"),
    (["--config.dataset.size=0"], "dataset size must be >= 1"),
    (["--config.es.foo=1"], "unknown config field 'foo'"),
    (["--config=/nonexistent/config.py"], "--config file not found: /nonexistent/config.py"),
    (["--config.es.sigmaa=0.1"], "unknown config field 'sigmaa' (did you mean 'sigma'?)"),
    (["--config.es.population_size=abc"], "invalid literal"),
    (["--config.final_eval.num_students=0"], "final_eval.num_students must be >= 1"),
    (["--config.checkpoint.keep_latest=0"], "checkpoint.keep_latest must be >= 1"),
    (["--config.es.sigma=0", "--config.es.sigma_limit=0"], "es.sigma must be > 0"),
])
def test_distill_bad_input_one_line_exit_2_nothing_written(tmp_path, args, message):
  workdir = tmp_path / "w"
  result = _run("launch.distill", f"--workdir={workdir}", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  assert not workdir.exists() or not any(workdir.rglob("*.json"))


def test_workdir_that_cannot_be_created_is_one_line(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  result = _run("launch.distill", f"--workdir={blocker / 'w'}", *TINY)
  assert result.returncode == 2 and "error: cannot create workdir" in result.stderr
  assert "Traceback" not in result.stderr


def test_a_bug_keeps_its_traceback_bad_input_does_not():
  """Only InputError (and CheckpointError) are bad input; a ValueError from a bug is not."""
  code = ("import sys; from launch import common\n"
          "def main(argv):\n"
          "  raise (common.InputError if sys.argv[1] == 'input' else ValueError)('boom')\n"
          "common.run(main)\n")
  bug = subprocess.run([sys.executable, "-c", code, "bug"], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
  assert bug.returncode == 1 and "Traceback" in bug.stderr and "ValueError: boom" in bug.stderr
  bad = subprocess.run([sys.executable, "-c", code, "input"], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
  assert bad.returncode == 2 and "Traceback" not in bad.stderr
  assert [l for l in bad.stderr.splitlines() if l.startswith("error:")] == ["error: boom"]


@pytest.mark.parametrize("args,generations", [
    ([], 2000), (["--config.es.num_generations=7"], 7)])
def test_dry_run_prints_the_resolved_paper_config_and_writes_nothing(tmp_path, args,
                                                                     generations):
  result = _run("launch.distill", "--task=ant", "--config=hades/configs/paper.py", "--dry_run",
                f"--workdir={tmp_path / 'w'}", *args)
  assert result.returncode == 0, result.stderr[-2000:]
  config = json.loads(result.stdout)
  assert config["es"]["num_generations"] == generations and config["task"] == "ant"
  assert config["es"]["population_size"] == 2048 and "task_presets" not in config
  assert "Failed to import" not in result.stderr  # MuJoCo's notices without its GPU backend.
  assert not (tmp_path / "w").exists()


def test_distill_all_dry_run_command_line_beats_presets(tmp_path):
  result = _run("launch.distill_all", "--tasks=ant,walker,hopper", "--dry_run",
                "--config.student.width=32")
  assert result.returncode == 0, result.stderr[-2000:]
  configs = json.loads(result.stdout)
  assert sorted(configs) == ["ant", "hopper", "walker2d"]
  assert [configs[t]["es"]["num_generations"] for t in ("ant", "walker2d", "hopper")] == [
      80, 50, 100]  # The CPU presets.
  assert [configs[t]["env"]["backend"] for t in ("ant", "walker2d", "hopper")] == [
      "spring", "positional", "positional"]
  assert {configs[t]["student"]["width"] for t in configs} == {32}
  typed = _run("launch.distill_all", "--tasks=ant,walker", "--dry_run",
               "--config.es.num_generations=300")
  assert {c["es"]["num_generations"] for c in json.loads(typed.stdout).values()} == {300}


def test_evaluate_bad_dataset_file(tmp_path):
  missing = _run("launch.evaluate", f"--dataset={tmp_path / 'nope.npz'}")
  assert missing.returncode == 2 and "dataset file not found" in missing.stderr
  wrong = tmp_path / "wrong.npz"
  np.savez(wrong, states=np.zeros((4, 5), np.float32), actions=np.zeros((4, 3), np.float32),
           task=np.array("hopper"))
  result = _run("launch.evaluate", f"--dataset={wrong}", "--student_width=8", "--num_steps=5")
  assert result.returncode == 2 and "needs obs size 11" in result.stderr, result.stderr[-1000:]


@pytest.fixture(scope="session")
def tiny_workdir(tmp_path_factory):
  """A finished tiny distill_all run on a continuous and a discrete task (hopper, cartpole),
  shared by the launcher tests below. Session scope: built once per worker (a module-scoped
  fixture is built again whenever the worker runs another module's test in between)."""
  workdir = tmp_path_factory.mktemp("runs")
  result = _run("launch.distill_all", "--tasks=hopper,cartpole", f"--workdir={workdir}",
                "--config.es.population_size=4", "--config.es.num_generations=3", *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir, result


def test_compilation_cache_directory_default(monkeypatch):
  from launch import common

  monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
  monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
  assert common.default_compilation_cache() == "/xdg/hades/jax"
  monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/mine")  # JAX's own variable wins.
  assert common.default_compilation_cache() == "/mine"


@pytest.mark.slow
def test_a_run_from_the_compilation_cache_gives_the_same_dataset(tmp_path, monkeypatch):
  """The second run loads the first one's compiled programs and writes the same arrays;
  --compilation_cache= turns the cache off."""
  # Cache every program, not only those that took >= 1 s to compile (load-dependent).
  monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  cache = tmp_path / "cache"
  args = ["--task=cartpole", "--config.es.population_size=4", "--config.es.num_generations=2",
          "--cpu_devices=1", *TINY]
  for name in ("a", "b"):
    result = _run("launch.distill", f"--workdir={tmp_path / name}", f"--compilation_cache={cache}",
                  *args)
    assert result.returncode == 0, result.stderr[-2000:]
    if name == "a":
      entries = sorted(os.listdir(cache))
      assert any(e.endswith("-cache") for e in entries)
  assert sorted(os.listdir(cache)) == entries  # Nothing compiled again.
  off = _run("launch.distill", f"--workdir={tmp_path / 'c'}", "--compilation_cache=", *args)
  assert off.returncode == 0, off.stderr[-2000:]
  datasets = [np.load(tmp_path / n / "cartpole" / "dataset.npz") for n in ("a", "b", "c")]
  for other in datasets[1:]:
    for key in ("states", "actions"):
      np.testing.assert_array_equal(datasets[0][key], other[key])


@pytest.mark.xdist_group("tiny_workdir")  # One worker builds the shared run.
@pytest.mark.slow
def test_distill_all_writes_everything(tiny_workdir):
  workdir, result = tiny_workdir
  assert "gen 3/3" in result.stderr and "ETA" in result.stderr
  for task in ("hopper", "cartpole"):
    d = workdir / task
    rows = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [1, 2, 3]
    assert {"fitness/mean", "fitness/max", "fitness/std", "fitness/best", "env_steps_per_s",
            "wall_time"} <= set(rows[0])
    config = json.loads((d / "config.json").read_text())
    assert config["task"] == task and config["es"]["population_size"] == 4
    with np.load(d / "dataset.npz") as f:
      assert str(f["task"]) == task and f["states"].shape[0] == 4
      if task == "cartpole":  # Fixed balanced labels: 2 states per action, one-hot.
        assert str(f["labels"]) == "fixed"
        np.testing.assert_array_equal(f["actions"], np.eye(2)[[0, 0, 1, 1]])
  summary = json.loads((workdir / "summary.json").read_text())
  assert set(summary["tasks"]) == {"hopper", "cartpole"}
  # Rerunning skips finished tasks.
  again = _run("launch.distill_all", "--tasks=hopper", f"--workdir={workdir}",
               "--config.es.population_size=4", "--config.es.num_generations=3", *TINY)
  assert again.returncode == 0 and "already finished" in again.stderr, again.stderr[-2000:]


@pytest.mark.slow
def test_changed_config_never_reports_the_old_result(tmp_path):
  """distill_all on a finished workdir with another config: refused (the results are kept),
  or redone with --overwrite; never 'already finished'. (CartPole: this is about configs and
  files, and gymnax compiles in seconds where Brax takes a minute per launch.)"""
  args = ["--tasks=cartpole", f"--workdir={tmp_path}", "--config.es.population_size=4",
          "--config.es.num_generations=2", *TINY]
  assert _run("launch.distill_all", *args).returncode == 0
  summary = (tmp_path / "cartpole" / "summary.json").read_text()
  dataset = (tmp_path / "cartpole" / "dataset.npz").read_bytes()
  changed = _run("launch.distill_all", *args, "--config.es.sigma=0.05")
  assert changed.returncode == 2 and "already finished" not in changed.stderr
  assert "holds a run of another config and its checkpoint (es.sigma" in changed.stderr
  assert "--overwrite" in changed.stderr
  assert (tmp_path / "cartpole" / "summary.json").read_text() == summary  # Untouched.
  assert (tmp_path / "cartpole" / "dataset.npz").read_bytes() == dataset
  # Without checkpoints to compare, the results' own config is checked.
  import shutil

  shutil.rmtree(tmp_path / "cartpole" / "checkpoints")
  again = _run("launch.distill_all", *args, "--config.es.sigma=0.05")
  assert again.returncode == 2 and "holds a run of another config (es.sigma" in again.stderr
  redone = _run("launch.distill_all", *args, "--config.es.sigma=0.05", "--overwrite")
  assert redone.returncode == 0, redone.stderr[-2000:]
  new = json.loads((tmp_path / "cartpole" / "summary.json").read_text())
  assert new["config_hash"] != json.loads(summary)["config_hash"]
  assert json.loads((tmp_path / "cartpole" / "config.json").read_text())["es"]["sigma"] == 0.05
  finished = _run("launch.distill_all", *args, "--config.es.sigma=0.05")
  assert finished.returncode == 0 and "already finished" in finished.stderr


@pytest.mark.xdist_group("tiny_workdir")  # One worker builds the shared run.
@pytest.mark.slow
def test_evaluate_uses_run_config(tiny_workdir, tmp_path):
  workdir, _ = tiny_workdir
  out = tmp_path / "eval.json"
  # The run's final evaluation: 2 students, 20 steps, seed config.seed + 1.
  result = _run("launch.evaluate", f"--dataset={workdir / 'hopper' / 'dataset.npz'}",
                "--num_students=2", "--num_steps=20", "--seed=1", f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(out.read_text())
  assert report["task"] == "hopper" and report["student"]["width"] == 8  # From config.json.
  assert report["num_envs"] == 1  # The distillation's eval.num_envs.
  # The same students, trained and rolled out the same way, as the run's summary.json.
  summary = json.loads((workdir / "hopper" / "summary.json").read_text())
  assert report["per_student"] == summary["per_student"]
  assert report["return_mean"] == summary["return_mean"]
  assert json.loads(result.stdout) == report  # --output writes what stdout shows.


@pytest.mark.xdist_group("tiny_workdir")  # One worker builds the shared run.
@pytest.mark.slow
def test_report_writes_decodable_pngs_and_page(tiny_workdir):
  from PIL import Image

  workdir, _ = tiny_workdir
  result = _run("launch.report", f"--workdir={workdir}")
  assert result.returncode == 0, result.stderr[-3000:]
  for task in ("hopper", "cartpole"):
    for name, min_size in (("fitness.png", (600, 380)), ("dataset.png", (600, 240))):
      with Image.open(workdir / task / name) as im:
        im.load()
        assert im.size[0] >= min_size[0] and im.size[1] >= min_size[1], (name, im.size)
  page = (workdir / "report.md").read_text()
  assert "![fitness](hopper/fitness.png)" in page and "| cartpole | 3 |" in page


def _has_osmesa():
  import ctypes.util

  return ctypes.util.find_library("OSMesa") is not None


@pytest.mark.xdist_group("tiny_workdir")  # One worker builds the shared run.
@pytest.mark.slow
@pytest.mark.skipif(not _has_osmesa(), reason="needs OSMesa (apt-get install libosmesa6)")
def test_render_writes_a_gif_with_frames(tiny_workdir):
  from PIL import Image

  workdir, _ = tiny_workdir
  result = _run("launch.render", f"--workdir={workdir}", "--task=hopper", "--steps=20",
                "--html")
  assert result.returncode == 0, result.stderr[-3000:]
  with Image.open(workdir / "hopper" / "rollout.gif") as gif:
    assert gif.n_frames == 10 and gif.size == (320, 240)
  assert "<html" in (workdir / "hopper" / "rollout.html").read_text().lower()


@pytest.mark.xdist_group("tiny_workdir")  # One worker builds the shared run.
@pytest.mark.slow
def test_render_draws_a_discrete_task_without_a_renderer(tiny_workdir):
  from PIL import Image

  workdir, _ = tiny_workdir
  result = _run("launch.render", f"--workdir={workdir}", "--task=cartpole", "--steps=20")
  assert result.returncode == 0, result.stderr[-3000:]
  with Image.open(workdir / "cartpole" / "rollout.gif") as gif:
    assert gif.n_frames == 10 and gif.size == (320, 240)


MINATAR_BREAKOUT = os.path.join(REFERENCE_DIR, "minatar",
                                "minatar_Breakout-MinAtar_D16_distill_seed0.npz")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(MINATAR_BREAKOUT), reason="MinAtar datasets not available")
def test_evaluate_reads_a_released_minatar_file_with_the_authors_protocol(tmp_path):
  out = tmp_path / "eval.json"
  result = _run("launch.evaluate", f"--dataset={MINATAR_BREAKOUT}", "--num_students=2",
                "--num_steps=200", f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(out.read_text())
  assert report["task"] == "breakout" and report["dataset_size"] == 15
  assert report["num_envs"] == 8 and report["normalization"] == "constant"
  assert report["student"]["activation"] == "relu" and report["student"]["bc_steps"] == 64
  assert report["student"]["learning_rate"] == 0.03 and report["student"]["max_grad_norm"] == 0
  # Every env ends an episode within 200 steps; the released dataset's students score about 11
  # with the authors' full protocol (test_released_breakout_files_reproduce_the_authors_returns).
  assert len(report["per_student"]) == 2 and report["episodes"] >= 8
  assert 8.0 <= report["return_mean"] <= 15.0, report["per_student"]


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(MINATAR_BREAKOUT), reason="MinAtar datasets not available")
def test_released_breakout_files_reproduce_the_authors_returns(tmp_path):
  """launch.reproduce_minatar on Breakout seed 0: the HaDES-R file trains 32 fresh students
  to within 15% of the ~11 the authors' code gives; the HaDES-F file, from the authors' exact
  fixed init (today's flax draws the same weights from their key), trains identical students."""
  for variant in ("distill", "overfit"):
    name = f"minatar_Breakout-MinAtar_D16_{variant}_seed0.npz"
    os.symlink(os.path.join(REFERENCE_DIR, "minatar", name), tmp_path / name)
  out = tmp_path / "table.json"
  result = _run("launch.reproduce_minatar", f"--paper_dir={tmp_path}", "--num_students=32",
                "--fixed_init_students=2", f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  rows = {r["method"]: r for r in json.loads(out.read_text())}
  assert abs(rows["HaDES-R"]["ours_mean"] - 11.0) <= 0.15 * 11.0, rows["HaDES-R"]
  fixed = rows["HaDES-F"]
  assert fixed["per_student"][0] == fixed["per_student"][1]  # One init, deterministic BC.
  assert fixed["ours_mean"] > 20.0  # Far above fresh inits on an overfit dataset.
  assert "| minatar_Breakout-MinAtar_D16_distill_seed0.npz | HaDES-R |" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(REFERENCE_DIR), reason="paper datasets not available")
def test_paper_hopper_d64_dataset_reproduces_its_return():
  path = os.path.join(REFERENCE_DIR, "brax_hopper_D64_distill_seed0.npz")
  result = _run("launch.evaluate", f"--dataset={path}")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout)
  assert report["normalization"] == "running" and report["student"]["bc_steps"] == 200
  assert abs(report["return_mean"] - 1780) <= 178, report["return_mean"]


@pytest.mark.xdist_group("tiny_workdir")  # One worker builds the shared run.
@pytest.mark.slow
def test_train_multitask_then_transfer_report(tiny_workdir):
  from PIL import Image

  workdir, _ = tiny_workdir
  trained = _run("launch.train_multitask", f"--workdir={workdir}",
                 "--config.train.bc_steps=20", "--config.train.num_seeds=2",
                 "--config.agent.width=16")
  assert trained.returncode == 0, trained.stderr[-3000:]
  assert (workdir / "multitask" / "checkpoints").is_dir()
  result = _run("launch.evaluate_transfer", f"--workdir={workdir}", "--num_students=2",
                "--num_steps=30", "--architectures=width=16", "--repeats=2")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads((workdir / "transfer.json").read_text())
  assert report["tasks"] == ["hopper", "cartpole"]
  assert 0 < report["parameters"]["shared_fraction"] < 1
  assert "action kind" in report["cross_task_note"]
  for task in ("hopper", "cartpole"):
    entry = report["per_task"][task]
    assert len(entry["generalist_per_seed"]) == 2
    assert np.isfinite(entry["generalist"]) and np.isfinite(entry["wrong_task_id"])
    # Specialists: --repeats=2 batches of --num_students=2 (as many as 2 seeds x 2 repeats).
    assert entry["specialist_students"] == 2 * 2 and entry["specialist_sem"] >= 0
    assert entry["ratio"] == pytest.approx(entry["generalist"] / entry["specialist"])
    assert report["cross_task"][task][task] == entry["specialist"]
    other = {"hopper": "cartpole", "cartpole": "hopper"}[task]
    assert np.isnan(report["cross_task"][task][other])  # Not transplanted across kinds.
    assert set(report["architecture"][task]) == {"width=16"}
  with Image.open(workdir / "transfer.png") as im:
    im.load()
    assert im.size[0] > 400 and im.size[1] > 200
  # The generalist, rendered on each of its tasks (cartpole is drawn, hopper needs OSMesa).
  rendered = _run("launch.render", f"--workdir={workdir}", "--agent=generalist", "--steps=10",
                  *([] if _has_osmesa() else ["--task=cartpole"]))
  assert rendered.returncode == 0, rendered.stderr[-3000:]
  for task in ("hopper", "cartpole") if _has_osmesa() else ("cartpole",):
    # 10 steps, every 2nd kept; the GIF writer merges identical consecutive frames (a cart
    # that barely moves), so the count is checked where render reports it.
    assert f"{task}/generalist.gif (5 frames" in rendered.stderr, rendered.stderr[-2000:]
    with Image.open(workdir / task / "generalist.gif") as gif:
      assert 1 <= gif.n_frames <= 5


def test_render_without_osmesa_says_what_to_install(monkeypatch):
  import ctypes.util

  from hades import tasks
  from hades.errors import InputError

  monkeypatch.setenv("MUJOCO_GL", "osmesa")
  monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
  with pytest.raises(InputError, match="apt-get install libosmesa6"):
    tasks.family_of("hopper").check_renderer(tasks.get_task("hopper"))


def test_a_compilation_cache_others_can_write_is_refused(tmp_path):
  """JAX runs the native code in the cache: a shared-writable one is refused in one line; a
  new one is created private."""
  shared = tmp_path / "shared"
  shared.mkdir()
  os.chmod(shared, 0o777)
  result = _run("launch.distill", f"--workdir={tmp_path / 'w'}", "--dry_run",
                f"--compilation_cache={shared}")
  assert result.returncode == 2 and "can be written by others" in result.stderr, (
      result.stderr[-2000:])
  assert "Traceback" not in result.stderr
  fresh = tmp_path / "new" / "cache"
  result = _run("launch.distill", f"--workdir={tmp_path / 'w'}", "--dry_run",
                f"--compilation_cache={fresh}")
  assert result.returncode == 0, result.stderr[-2000:]
  assert os.stat(fresh).st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a directory to another user")
def test_a_compilation_cache_of_another_user_is_refused(tmp_path):
  theirs = tmp_path / "theirs"
  theirs.mkdir(mode=0o700)
  os.chown(theirs, 4242, 4242)
  result = _run("launch.distill", f"--workdir={tmp_path / 'w'}", "--dry_run",
                f"--compilation_cache={theirs}")
  assert result.returncode == 2 and "belongs to another user" in result.stderr, (
      result.stderr[-2000:])


@pytest.mark.parametrize("module, own", [("launch.distill", "--task"),
                                         ("launch.train_multitask", "--tasks"),
                                         ("launch.study", "--study")])
def test_help_shows_the_launchers_flags_the_shared_ones_and_the_tasks(module, own):
  result = _run(module, "--help")
  assert result.returncode == 0, result.stderr[-2000:]
  text = result.stdout
  shared = ["--config", "--compilation_cache"]
  if module != "launch.train_multitask":
    shared += ["--dry_run", "--overwrite", "--resume", "--progress", "--cpu_devices"]
  for flag in [own, *shared]:  # Booleans read --[no]name.
    assert re.search(rf"^  --(\[no\])?{flag[2:]}:", text, re.M), (flag, text)
  assert "cartpole" in text and "module:name" in text
  assert len(text.splitlines()) <= 80 and "jax_" not in text  # No library internals.
  assert "Failed to import" not in text + result.stderr


@pytest.mark.parametrize("module, old, new", [("launch.evaluate", "--width=8", "--student_width"),
                                              ("launch.render", "--height=10", "--frame_height"),
                                              ("launch.study", "--seeds=1", "--num_seeds"),
                                              ("launch.reproduce_minatar", "--dir=x",
                                               "--paper_dir")])
def test_an_old_flag_spelling_points_at_the_new_one(tmp_path, module, old, new):
  result = _run(module, old, f"--workdir={tmp_path}")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [f"error: {old.split('=')[0]} is now {new} "
                                                "(docs/cli.md)"]
  assert list(tmp_path.iterdir()) == []
