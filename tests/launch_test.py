"""Launchers as users run them: subprocesses, files on disk, exit codes."""

import json
import os
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
])
def test_distill_bad_input_one_line_exit_2_nothing_written(tmp_path, args, message):
  workdir = tmp_path / "w"
  result = _run("launch.distill", f"--workdir={workdir}", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  assert not workdir.exists() or not any(workdir.rglob("*.json"))


def test_evaluate_bad_dataset_file(tmp_path):
  missing = _run("launch.evaluate", f"--dataset={tmp_path / 'nope.npz'}")
  assert missing.returncode == 2 and "dataset file not found" in missing.stderr
  wrong = tmp_path / "wrong.npz"
  np.savez(wrong, states=np.zeros((4, 5), np.float32), actions=np.zeros((4, 3), np.float32),
           task=np.array("hopper"))
  result = _run("launch.evaluate", f"--dataset={wrong}", "--width=8", "--num_steps=5")
  assert result.returncode == 2 and "needs obs size 11" in result.stderr, result.stderr[-1000:]


@pytest.mark.slow
def test_distill_all_then_evaluate_writes_everything(tmp_path):
  result = _run("launch.distill_all", "--tasks=hopper,reacher", f"--workdir={tmp_path}",
                "--config.es.population_size=4", "--config.es.num_generations=3", *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "gen 3/3" in result.stderr and "ETA" in result.stderr
  for task in ("hopper", "reacher"):
    d = tmp_path / task
    rows = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [1, 2, 3]
    assert {"fitness/mean", "fitness/max", "fitness/std", "fitness/best", "env_steps_per_s",
            "wall_time"} <= set(rows[0])
    config = json.loads((d / "config.json").read_text())
    assert config["task"] == task and config["es"]["population_size"] == 4
    with np.load(d / "dataset.npz") as f:
      assert str(f["task"]) == task and f["states"].shape[0] == 4
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert set(summary["tasks"]) == {"hopper", "reacher"}

  out = tmp_path / "eval.json"
  result = _run("launch.evaluate", f"--dataset={tmp_path / 'hopper' / 'dataset.npz'}",
                "--num_students=2", "--num_envs=2", "--num_steps=50", f"--output={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(out.read_text())
  assert report["task"] == "hopper" and report["student"]["width"] == 8  # From config.json.
  assert np.isfinite(report["return_mean"]) and len(report["per_student"]) == 2


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(REFERENCE_DIR), reason="paper datasets not available")
def test_paper_hopper_d64_dataset_reproduces_its_return():
  path = os.path.join(REFERENCE_DIR, "brax_hopper_D64_distill_seed0.npz")
  result = _run("launch.evaluate", f"--dataset={path}")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout)
  assert report["normalization"] == "running" and report["student"]["bc_steps"] == 200
  assert abs(report["return_mean"] - 1780) <= 178, report["return_mean"]
