"""SIGKILL at random moments (seeded) of distill, train_multitask and a study, each followed by
a rerun: every rerun finishes, and what it wrote equals the uninterrupted run's."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO

KILLS = 10
TINY = ["--config.dataset.size=4", "--config.student.width=8", "--config.student.bc_steps=5",
        "--config.eval.num_envs=1", "--config.eval.num_steps=100",
        "--config.es.population_size=8", "--config.es.num_generations=12",
        "--config.final_eval.num_students=2", "--config.final_eval.num_steps=50",
        "--config.log.generations_per_call=1", "--config.checkpoint.every_generations=2",
        "--config.validation.every_generations=4", "--config.validation.num_students=2",
        "--progress=plain"]
MULTITASK = ["--config.train.num_seeds=2", "--config.train.bc_steps=50"]
STUDY = ["--study=dataset_size", "--tasks=cartpole", "--num_seeds=1", "--cpu_devices=1",
         "--study_config.dataset_size.sizes=(2, 4)"] + [a for a in TINY if "dataset.size" not in a]


def _run(module, *args, timeout=600):
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  start = time.time()
  result = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
  assert result.returncode == 0, result.stderr[-3000:]
  return time.time() - start


def _killed_then_finished(module, args, horizon, seed, fresh_workdir):
  """Runs `module` again and again, each attempt SIGKILLed after a uniformly random time in
  [0, horizon / 2) s unless it finishes first (a resumed attempt is shorter than a whole run).
  An attempt that finishes closes a trial, and the next trial starts in `fresh_workdir()`.
  Stops after KILLS kills and a finished rerun; returns the workdirs of the finished trials
  and the kills made."""
  rng = random.Random(seed)
  env = dict(os.environ, PYTHONWARNINGS="ignore")
  finished, kills, workdir = [], 0, fresh_workdir()
  while True:
    proc = subprocess.Popen([sys.executable, "-m", module, f"--workdir={workdir}", *args],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
      _, stderr = proc.communicate(timeout=rng.uniform(0.0, horizon / 2) if kills < KILLS
                                   else 600)
    except subprocess.TimeoutExpired:
      proc.send_signal(signal.SIGKILL)
      proc.communicate()
      kills += 1
      continue
    assert proc.returncode == 0, f"rerun after {kills} kills failed:\n{stderr[-3000:]}"
    finished.append(workdir)
    if kills >= KILLS:
      return finished, kills
    workdir = fresh_workdir()


def _arrays(path):
  with np.load(path) as f:
    return {k: f[k] for k in f.files if k not in ("source",)}


def _assert_same_npz(path, reference):
  got, want = _arrays(path), _arrays(reference)
  assert set(got) == set(want)
  for k in want:
    np.testing.assert_array_equal(got[k], want[k], err_msg=f"{path}: {k}")


def _metrics(path):
  with open(path) as f:
    return [{k: v for k, v in json.loads(line).items()
             if k not in ("env_steps_per_s", "wall_time")} for line in f]


def _workdirs(tmp_path):
  count = iter(range(1000))
  return lambda: str(tmp_path / f"trial{next(count)}")


@pytest.mark.slow
def test_distill_killed_at_random_points_finishes_like_an_uninterrupted_run(tmp_path):
  args = ["--task=cartpole", *TINY]
  reference = str(tmp_path / "reference")
  horizon = _run("launch.distill", f"--workdir={reference}", *args)
  finished, kills = _killed_then_finished("launch.distill", args, horizon, 0, _workdirs(tmp_path))
  assert kills == KILLS
  for workdir in finished:
    _assert_same_npz(os.path.join(workdir, "cartpole", "dataset.npz"),
                     os.path.join(reference, "cartpole", "dataset.npz"))
    assert (_metrics(os.path.join(workdir, "cartpole", "metrics.jsonl"))
            == _metrics(os.path.join(reference, "cartpole", "metrics.jsonl")))


@pytest.mark.slow
def test_train_multitask_killed_at_random_points_gives_the_same_generalists(tmp_path):
  from multitask import workflow

  datasets = str(tmp_path / "datasets")
  _run("launch.distill_all", "--tasks=cartpole,acrobot", f"--workdir={datasets}", *TINY)
  reference = str(tmp_path / "reference")
  shutil.copytree(datasets, reference)
  horizon = _run("launch.train_multitask", f"--workdir={reference}", *MULTITASK)
  count = iter(range(1000))

  def fresh_workdir():
    workdir = str(tmp_path / f"trial{next(count)}")
    shutil.copytree(datasets, workdir)
    return workdir

  finished, kills = _killed_then_finished("launch.train_multitask", MULTITASK, horizon, 1,
                                          fresh_workdir)
  assert kills == KILLS
  want = workflow.load_generalist(reference)[1]
  for workdir in finished:
    got = workflow.load_generalist(workdir)[1]
    for a, b in zip(*(sorted(_leaves(p).items()) for p in (got, want))):
      assert a[0] == b[0]
      np.testing.assert_array_equal(a[1], b[1])
    assert not [n for n in os.listdir(workdir) if n.startswith(".multitask-")]


def _leaves(tree):
  import jax

  return {jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(tree)}


def _study_rows(workdir):
  """study.json's rows without their wall times."""
  with open(os.path.join(workdir, "study.json")) as f:
    tasks = json.load(f)["tasks"]
  return {task: {series: {k: v for k, v in row.items() if k != "wall_time"}
                 for series, row in rows.items()} for task, rows in tasks.items()}


@pytest.mark.slow
def test_study_killed_at_random_points_finishes_like_an_uninterrupted_one(tmp_path):
  reference = str(tmp_path / "reference")
  horizon = _run("launch.study", f"--workdir={reference}", *STUDY)
  finished, kills = _killed_then_finished("launch.study", STUDY, horizon, 2,
                                          _workdirs(tmp_path))
  assert kills == KILLS
  want = _study_rows(reference)
  for workdir in finished:
    assert _study_rows(workdir) == want
    for size in ("D2", "D4"):
      run = os.path.join("cartpole", size, "seed0", "dataset.npz")
      _assert_same_npz(os.path.join(workdir, run), os.path.join(reference, run))
