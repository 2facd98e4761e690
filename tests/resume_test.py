"""Exact resume after SIGKILL / SIGTERM, refusal of mismatching runs, workdir locking, NaNs."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import conftest
from conftest import REPO

GENS = 24
# The kill hook (`runner.SIGNAL_AFTER_ENV`) stops a run after an exact generation, so the
# generations can be short: no polling, no race with the process.
ARGS = ["--task=hopper", "--config.dataset.size=4", "--config.student.width=8",
        "--config.student.bc_steps=5", "--config.eval.num_envs=1", "--config.eval.num_steps=100",
        "--config.es.population_size=8", f"--config.es.num_generations={GENS}",
        "--config.final_eval.num_students=2", "--config.final_eval.num_steps=20",
        "--config.log.generations_per_call=1", "--config.checkpoint.every_generations=3",
        # Validation state (best-validated mean) must survive the kill too: validations fall
        # between checkpoints.
        "--config.validation.every_generations=4", "--config.validation.num_students=2"]
TIMING_KEYS = ("env_steps_per_s", "wall_time")


# A discrete task (gymnax CartPole, fixed labels), 500-step episodes.
CARTPOLE_ARGS = [a for a in ARGS if not a.startswith(("--task", "--config.eval.num_steps"))] + [
    "--task=cartpole", "--config.eval.num_steps=200"]


def _cmd(workdir, *extra, args=ARGS):
  return [sys.executable, "-m", "launch.distill", f"--workdir={workdir}", *args, *extra]


def _stopped_after(workdir, generation, *extra, args=ARGS, how=""):
  """Runs the launcher until the kill hook signals it after `generation` (how: '' SIGKILL,
  ':TERM' SIGTERM); returns the finished process."""
  env = dict(os.environ, PYTHONWARNINGS="ignore",
             HADES_TEST_SIGNAL_AFTER_GENERATION=f"{generation}{how}")
  return subprocess.run(_cmd(workdir, *extra, args=args), cwd=REPO, capture_output=True,
                        text=True, timeout=600, env=env)


def _rows(workdir, task="hopper"):
  path = os.path.join(workdir, task, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(l) for l in f if l.strip().endswith("}")]


def _outcome(workdir, task="hopper"):
  with np.load(os.path.join(workdir, task, "dataset.npz")) as f:
    arrays = {k: f[k] for k in ("states", "actions", "best_states", "best_actions",
                                "final_states", "final_actions", "validation_generation",
                                "validation_return")}
  rows = [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in _rows(workdir, task)]
  assert sum("validation/return" in r for r in rows) == GENS // 4
  return arrays, rows


# Session scope: built once per worker. A module-scoped fixture is torn down whenever the worker
# runs another module's test in between, and built again (minutes of CI).
@pytest.fixture(scope="session")
def reference(tmp_path_factory):
  """The uninterrupted hopper run."""
  workdir = str(tmp_path_factory.mktemp("reference"))
  result = subprocess.run(_cmd(workdir), cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return _outcome(workdir)


@pytest.fixture(scope="session")
def cartpole_reference(tmp_path_factory):
  """The uninterrupted CartPole run (a discrete task; compiles in seconds)."""
  workdir = str(tmp_path_factory.mktemp("cartpole_reference"))
  result = subprocess.run(_cmd(workdir, args=CARTPOLE_ARGS), cwd=REPO, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return _outcome(workdir, "cartpole")


@pytest.mark.xdist_group("hopper_reference")  # Shares the reference run.
@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical_and_workdir_is_locked(tmp_path, reference):
  import checkpoints

  workdir = str(tmp_path)
  os.makedirs(os.path.join(workdir, "hopper"))
  # A second launcher on a workdir in use is refused (here the test holds its lock).
  with checkpoints.WorkdirLock(os.path.join(workdir, "hopper")):
    second = subprocess.run(_cmd(workdir), cwd=REPO, capture_output=True, text=True,
                            timeout=300)
  assert second.returncode == 2 and "in use by pid" in second.stderr, second.stderr[-2000:]
  # Killed after generation 7: its metrics rows are on disk, the last checkpoint is at 6.
  killed = _stopped_after(workdir, 7)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  assert len(_rows(workdir)) == 7
  resumed = subprocess.run(_cmd(workdir), cwd=REPO, capture_output=True, text=True, timeout=600)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f"resuming from the checkpoint at generation 6/{GENS}" in resumed.stderr
  arrays, rows = _outcome(workdir)
  ref_arrays, ref_rows = reference
  assert [r["generation"] for r in rows] == list(range(1, GENS + 1))
  assert rows == ref_rows
  for k in arrays:
    np.testing.assert_array_equal(arrays[k], ref_arrays[k])


@pytest.mark.xdist_group("cartpole_reference")  # Shares the reference run.
@pytest.mark.slow
def test_sigterm_saves_checkpoint_then_resume_matches(tmp_path, cartpole_reference):
  """On CartPole: the signal handling, refusals and resume do not depend on the family."""
  workdir = str(tmp_path)
  stopped = _stopped_after(workdir, 5, args=CARTPOLE_ARGS, how=":TERM")
  assert stopped.returncode == 130 and "checkpoint saved" in stopped.stderr, (
      stopped.stderr[-2000:])
  stopped_at = len(_rows(workdir, "cartpole"))
  assert stopped_at == 5  # SIGTERM saves the checkpoint of the generation it arrived in.
  assert "5" in os.listdir(os.path.join(workdir, "cartpole", "checkpoints"))
  # Mismatching config and --resume=never are refused without touching the run.
  clash = subprocess.run(_cmd(workdir, "--config.es.sigma=0.1", args=CARTPOLE_ARGS), cwd=REPO,
                         capture_output=True, text=True, timeout=300)
  assert clash.returncode == 2 and "another config and its checkpoint (es.sigma" in clash.stderr, (
      clash.stderr)
  never = subprocess.run(_cmd(workdir, "--resume=never", args=CARTPOLE_ARGS), cwd=REPO,
                         capture_output=True, text=True, timeout=300)
  assert never.returncode == 2 and "already holds a run" in never.stderr, never.stderr
  assert len(_rows(workdir, "cartpole")) == stopped_at
  first_leg = _rows(workdir, "cartpole")
  with open(os.path.join(workdir, "cartpole", "metrics.jsonl"), "w") as f:
    f.writelines(json.dumps({**r, "wall_time": r["wall_time"] + 1e4}) + "\n" for r in first_leg)
  resumed = subprocess.run(_cmd(workdir, "--resume=must", args=CARTPOLE_ARGS), cwd=REPO,
                           capture_output=True, text=True, timeout=600)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  # The resumed run's clock counts on from the stopped one's (a first leg made to look 10^4 s
  # long above), not from its own start: wall times never go back.
  walls = [r["wall_time"] for r in _rows(workdir, "cartpole")]
  assert walls == sorted(walls) and walls[stopped_at] > walls[stopped_at - 1] > 1e4, walls
  with open(os.path.join(workdir, "cartpole", "summary.json")) as f:
    assert json.load(f)["wall_time"] >= walls[-1]
  arrays, rows = _outcome(workdir, "cartpole")
  assert rows == cartpole_reference[1]
  for k in arrays:
    np.testing.assert_array_equal(arrays[k], cartpole_reference[0][k])


@pytest.mark.xdist_group("cartpole_reference")  # Shares the reference run.
@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical_for_a_discrete_task(tmp_path,
                                                                 cartpole_reference):
  workdir = str(tmp_path / "killed")
  killed = _stopped_after(workdir, 7, args=CARTPOLE_ARGS)
  assert killed.returncode == -signal.SIGKILL and len(_rows(workdir, "cartpole")) == 7
  resumed = subprocess.run(_cmd(workdir, args=CARTPOLE_ARGS), cwd=REPO, capture_output=True,
                           text=True, timeout=600)
  assert resumed.returncode == 0 and "resuming from the checkpoint" in resumed.stderr
  arrays, rows = _outcome(workdir, "cartpole")
  ref_arrays, ref_rows = cartpole_reference
  assert rows == ref_rows
  for k in arrays:
    np.testing.assert_array_equal(arrays[k], ref_arrays[k])


def _garble_state(checkpoint_dir):
  for root, _, files in os.walk(os.path.join(checkpoint_dir, "state")):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"\x00garbage")


def _lose_metrics_rows(workdir, keep):
  path = os.path.join(workdir, "cartpole", "metrics.jsonl")
  with open(path) as f:
    lines = f.readlines()
  with open(path, "w") as f:
    f.writelines(lines[:keep])


def _garble_best_metrics(checkpoint_dir):
  with open(os.path.join(checkpoint_dir, "metrics", "metrics"), "w") as f:
    f.write('{"fitness/be')


@pytest.mark.xdist_group("cartpole_reference")  # Shares the reference run.
@pytest.mark.slow
@pytest.mark.parametrize("damage, resumed_at", [
    ("state", 6),  # The latest checkpoint's arrays cannot be read: the one before is used.
    ("metrics_rows", 6),  # metrics.jsonl lost rows 8-10: its checkpoint at 9 is ahead of it.
    ("checkpoint_metrics", 9),  # Only the checkpoint's metrics file is torn: its state is used.
])
def test_damaged_run_resumes_from_what_is_readable_and_matches(tmp_path, cartpole_reference,
                                                               damage, resumed_at):
  """A run killed after generation 10 (checkpoints at 6 and 9), then damaged: the rerun skips
  what it cannot use with a line saying so, computes the lost generations again and finishes
  bit-identical to the uninterrupted run, metrics.jsonl included."""
  workdir = str(tmp_path)
  killed = _stopped_after(workdir, 10, args=CARTPOLE_ARGS)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  checkpoints_dir = os.path.join(workdir, "cartpole", "checkpoints")
  assert {"6", "9"} <= set(os.listdir(checkpoints_dir))
  {"state": lambda: _garble_state(os.path.join(checkpoints_dir, "9")),
   "metrics_rows": lambda: _lose_metrics_rows(workdir, 7),
   "checkpoint_metrics": lambda: _garble_best_metrics(os.path.join(checkpoints_dir, "9")),
   }[damage]()
  resumed = subprocess.run(_cmd(workdir, args=CARTPOLE_ARGS), cwd=REPO, capture_output=True,
                           text=True, timeout=600)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f"resuming from the checkpoint at generation {resumed_at}/{GENS}" in resumed.stderr
  skipped = {"state": "checkpoint 9 in", "metrics_rows": "ahead of the run's 7 recorded",
             "checkpoint_metrics": "unreadable metrics"}[damage]
  assert skipped in resumed.stderr, resumed.stderr[-3000:]
  arrays, rows = _outcome(workdir, "cartpole")
  assert rows == cartpole_reference[1]
  for k in arrays:
    np.testing.assert_array_equal(arrays[k], cartpole_reference[0][k])


def test_resume_must_without_checkpoint_is_refused(tmp_path):
  result = subprocess.run(_cmd(str(tmp_path), "--resume=must"), cwd=REPO, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 2 and "has no checkpoint" in result.stderr, result.stderr[-2000:]


@pytest.mark.slow
def test_all_nan_generation_stops_run_keeping_last_checkpoint(tmp_path):
  from hades import runner

  config = conftest.tiny_config(**{"student.learning_rate": 1e30, "es.num_generations": 4})
  with pytest.raises(FloatingPointError, match="non-finite fitness"):
    runner.distill(config, str(tmp_path), log=lambda s: None)
  assert not os.path.exists(tmp_path / "dataset.npz")


def test_a_non_finite_result_is_an_error_and_writes_no_summary(tmp_path, monkeypatch):
  """Students that train to NaN on the final dataset stop the run (exit 3 in launchers): no
  summary.json says it finished."""
  from hades import methods
  from hades import runner

  scored = methods.DatasetMethod.write_results

  def nan_scores(self, *args, **kwargs):
    return dict(scored(self, *args, **kwargs), return_mean=float("nan"))

  monkeypatch.setattr(methods.DatasetMethod, "write_results", nan_scores)
  config = conftest.tiny_config("cartpole")
  with pytest.raises(FloatingPointError, match="not finite"):
    runner.distill(config, str(tmp_path), log=lambda s: None)
  assert not os.path.exists(tmp_path / "summary.json")
