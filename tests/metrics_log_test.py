"""metrics.jsonl, and the optional sinks: imported only when enabled."""

import json
import sys
import types

import ml_collections
import pytest

import checkpoints
from hades import metrics_log


def _log_config(**kw):
  return ml_collections.ConfigDict(dict(dict(tensorboard=False, wandb=False,
                                             wandb_project="proj", wandb_entity=""), **kw))


def _rows(first, last):
  return [{"generation": g, "fitness/mean": float(g)} for g in range(first, last + 1)]


def _read(path):
  return [json.loads(l) for l in path.read_text().splitlines()]


def test_jsonl_fresh_run_replaces_and_resume_truncates(tmp_path):
  (tmp_path / "metrics.jsonl").write_text('{"generation": 1}\n')  # A previous, dead run.
  with metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(), {}) as log:
    log.write(_rows(1, 5))
  assert [r["generation"] for r in _read(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4, 5]
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"generation": 6, "fitn')  # Killed mid-line.
  with metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(), {}, resumed_at=3) as log:
    log.write(_rows(4, 6))
  assert [r["generation"] for r in _read(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]
  with pytest.raises(checkpoints.CheckpointError, match="rows for the 9"):
    metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(), {}, resumed_at=9)


class _FakeRun:

  def __init__(self, calls, run_id):
    self.calls, self.id, self.summary = calls, run_id, {}

  def log(self, data, step):
    self.calls.append(("log", step, data))

  def finish(self):
    self.calls.append(("finish",))


@pytest.fixture
def fake_wandb(monkeypatch):
  calls = []

  def init(**kwargs):
    calls.append(("init", kwargs))
    run = _FakeRun(calls, kwargs["id"] or "run123")
    calls.append(("run", run))
    return run

  monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
  return calls


def test_wandb_is_not_touched_unless_enabled(tmp_path, fake_wandb):
  with metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(), {}) as log:
    log.write(_rows(1, 2))
    log.log_summary({"return_mean": 1.0})
  assert fake_wandb == []


def test_wandb_logs_rows_summary_and_resumes_the_same_run(tmp_path, fake_wandb):
  config = {"es": {"sigma": 0.03}}
  with metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(wandb=True), config) as log:
    log.write(_rows(1, 2))
  init = fake_wandb[0][1]
  assert init["project"] == "proj" and init["entity"] is None and init["config"] == config
  assert init["id"] is None and (tmp_path / "wandb_run_id").read_text() == "run123"
  assert ("log", 2, {"hopper/fitness/mean": 2.0}) in fake_wandb
  assert fake_wandb[-1] == ("finish",)
  fake_wandb.clear()
  with metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(wandb=True), config,
                              resumed_at=2) as log:
    log.write(_rows(3, 3))
    log.log_summary({"return_mean": 950.0, "task": "hopper"})
    run = fake_wandb[1][1]
  assert fake_wandb[0][1]["id"] == "run123" and fake_wandb[0][1]["resume"] == "allow"
  assert run.summary == {"hopper/final/return_mean": 950.0}


def test_wandb_enabled_but_missing_is_a_clear_error(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` raises ImportError.
  (tmp_path / "metrics.jsonl").write_text('{"generation": 1}\n')
  with pytest.raises(metrics_log.MetricsError, match="needs the wandb package"):
    metrics_log.MetricsLog(str(tmp_path), "hopper", _log_config(wandb=True), {})
  assert (tmp_path / "metrics.jsonl").read_text() == '{"generation": 1}\n'  # Untouched.
