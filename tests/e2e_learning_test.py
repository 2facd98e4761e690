"""'It learns': a tiny HaDES run must beat the all-zero dataset it starts from."""

import json

import pytest

import conftest
from hades import runner


@pytest.mark.slow
def test_tiny_hopper_distillation_beats_zero_dataset(tmp_path):
  # The paper's small constant sigma / lr: this 6-generation, 200-step problem learns with
  # them; the CPU default's sigma 0.3 explores more and needs more generations
  # (docs/experiments/2026-11-26_cpu_default.md).
  config = conftest.tiny_config(**{
      "es.population_size": 16, "es.num_generations": 6, "student.width": 32,
      "es.sigma": 0.03, "es.learning_rate": 0.05, "es.sigma_decay": 1.0, "es.lr_decay": 1.0,
      "es.sigma_limit": 0.0, "es.lr_limit": 0.0,
      "student.bc_steps": 100, "eval.num_steps": 200, "final_eval.num_students": 4,
      "final_eval.num_envs": 0, "final_eval.num_steps": 200, "log.generations_per_call": 3,
      "log.tensorboard": True})
  lines = []
  summary = runner.distill(config, str(tmp_path), log=lines.append)
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert len(rows) == 6
  # The ES improves its population, and the final dataset beats the all-zero start.
  assert rows[-1]["fitness/mean"] > rows[0]["fitness/mean"]
  assert summary["return_mean"] > summary["zero_dataset_return"] + 20, summary
  assert any("ETA" in l for l in lines)
  events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
  assert events and events[0].stat().st_size > 0
