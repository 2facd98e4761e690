"""No code path deletes or replaces what it did not write: a run's workdir and a generalist's
directory hold the user's files safely, --overwrite replaces only a run of another config, and
every refusal comes before any file is touched."""

import json
import os

import numpy as np
import pytest

import checkpoints
import conftest
from hades import config as config_lib
from hades import files
from hades import workdir as workdir_lib
from hades.errors import InputError


def _config(**overrides):
  return config_lib.resolve_config(conftest.tiny_config("cartpole", **overrides))


def _snapshot(directory):
  """{relative path: bytes} of every file under `directory` (directories as None)."""
  out = {}
  for root, dirs, names in os.walk(directory):
    for name in dirs:
      out[os.path.relpath(os.path.join(root, name), directory)] = None
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, directory)] = f.read()
  return out


def _fake_run(workdir, config, tensorboard=False):
  """What a finished run of `config` leaves in `workdir` (config.json, a checkpoint, results)."""
  os.makedirs(workdir / "checkpoints" / "2", exist_ok=True)
  (workdir / "checkpoints" / "2" / "state").write_bytes(b"state")
  files.write_json(str(workdir / "config.json"), config.to_dict())
  for name in ("metrics.jsonl", "dataset.npz", "summary.json"):
    (workdir / name).write_text(name)
  if tensorboard:
    (workdir / "tensorboard").mkdir()


def test_a_fresh_workdir_gets_the_run_config_first(tmp_path):
  config = _config()
  workdir_lib.prepare(str(tmp_path), config)
  assert json.loads((tmp_path / "config.json").read_text()) == json.loads(
      json.dumps(config.to_dict()))
  assert workdir_lib.is_run_config(json.loads((tmp_path / "config.json").read_text()))


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("foreign", ["metrics.jsonl", "checkpoints", "tensorboard",
                                     "summary.json"])
def test_run_file_names_without_a_run_config_are_never_touched(tmp_path, foreign, overwrite):
  """A user's own `checkpoints/` or `metrics.jsonl` is not a run's, even under --overwrite."""
  path = tmp_path / foreign
  if foreign in ("checkpoints", "tensorboard"):
    path.mkdir()
    (path / "1").write_text("mine")
  else:
    path.write_text("mine")
  (tmp_path / "notes.txt").write_text("notes")
  before = _snapshot(tmp_path)
  with pytest.raises(checkpoints.CheckpointError, match="not a hades run's"):
    workdir_lib.prepare(str(tmp_path), _config(), overwrite=overwrite)
  assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("overwrite", [False, True])
def test_another_tools_config_json_is_never_touched(tmp_path, overwrite):
  (tmp_path / "config.json").write_text(json.dumps({"learning_rate": 0.1}))
  before = _snapshot(tmp_path)
  with pytest.raises(checkpoints.CheckpointError, match="not written by a hades run"):
    workdir_lib.prepare(str(tmp_path), _config(), overwrite=overwrite)
  assert _snapshot(tmp_path) == before


def test_overwrite_deletes_only_what_the_old_run_wrote(tmp_path):
  old = _config()
  _fake_run(tmp_path, old)
  (tmp_path / "notes.txt").write_text("notes")
  (tmp_path / "tensorboard").mkdir()  # The user's: the old run did not log to TensorBoard.
  (tmp_path / "policy.npz").write_text("the user's")  # A dataset run writes no policy.npz.
  new = _config(**{"es.sigma": 0.5})
  before = _snapshot(tmp_path)
  with pytest.raises(checkpoints.CheckpointError, match=r"another config.*es\.sigma"):
    workdir_lib.prepare(str(tmp_path), new)
  assert _snapshot(tmp_path) == before
  workdir_lib.prepare(str(tmp_path), new, overwrite=True)
  assert sorted(os.listdir(tmp_path)) == ["config.json", "notes.txt", "policy.npz",
                                          "tensorboard"]
  assert json.loads((tmp_path / "config.json").read_text())["es"]["sigma"] == 0.5


def test_overwrite_removes_the_tensorboard_logs_its_run_wrote(tmp_path):
  old = _config(**{"log.tensorboard": True})
  _fake_run(tmp_path, old, tensorboard=True)
  workdir_lib.prepare(str(tmp_path), _config(**{"es.sigma": 0.5}), overwrite=True)
  assert os.listdir(tmp_path) == ["config.json"]


@pytest.mark.parametrize("resume", ["auto", "must"])
def test_overwrite_keeps_a_run_of_the_same_config(tmp_path, resume):
  """--overwrite replaces a run of another config only: the same config resumes (a longer
  num_generations or other logging counts as the same)."""
  config = _config()
  _fake_run(tmp_path, config)
  before = _snapshot(tmp_path)
  workdir_lib.prepare(str(tmp_path), _config(**{"es.num_generations": 9, "log.tensorboard": True}),
                      resume=resume, overwrite=True)
  assert _snapshot(tmp_path) == before


def test_overwrite_with_resume_must_refuses_before_deleting(tmp_path):
  _fake_run(tmp_path, _config())
  before = _snapshot(tmp_path)
  with pytest.raises(checkpoints.CheckpointError, match="nothing was deleted"):
    workdir_lib.prepare(str(tmp_path), _config(**{"es.sigma": 0.5}), resume="must",
                        overwrite=True)
  assert _snapshot(tmp_path) == before


def test_resume_refusals_write_nothing(tmp_path):
  with pytest.raises(checkpoints.CheckpointError, match="--resume=must but"):
    workdir_lib.prepare(str(tmp_path), _config(), resume="must")
  assert os.listdir(tmp_path) == []
  _fake_run(tmp_path, _config())
  before = _snapshot(tmp_path)
  with pytest.raises(checkpoints.CheckpointError, match="resume it with --resume=auto"):
    workdir_lib.prepare(str(tmp_path), _config(), resume="never", overwrite=True)
  assert _snapshot(tmp_path) == before


def test_the_workdir_lock_has_its_own_name(tmp_path):
  (tmp_path / ".lock").write_text("the user's")
  with checkpoints.WorkdirLock(str(tmp_path)):
    pass
  assert (tmp_path / ".lock").read_text() == "the user's"


# The generalist's directory, WORKDIR/multitask/.

def _multitask(tmp_path):
  from multitask.configs import default

  conftest.save_task_datasets(tmp_path, np.random.default_rng(0))
  config = default.get_config()
  config.train.bc_steps, config.train.num_seeds, config.agent.width = 5, 1, 8
  return config, ["hopper", "reacher"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_train_multitask_never_touches_a_folder_that_is_not_a_generalist(tmp_path, overwrite):
  """WORKDIR/multitask without a generalist's config.json (with --workdir=. in the repository,
  the `multitask` package itself) is refused, whatever the flags."""
  from multitask import workflow

  config, names = _multitask(tmp_path)
  (tmp_path / "multitask").mkdir()
  (tmp_path / "multitask" / "notes").write_text("mine")
  before = _snapshot(tmp_path)
  with pytest.raises(InputError, match="holds no generalist"):
    workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None,
                             overwrite=overwrite)
  (tmp_path / "multitask" / "config.json").write_text(json.dumps({"a": 1}))
  with pytest.raises(InputError, match="not a generalist's"):
    workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None,
                             overwrite=overwrite)
  (tmp_path / "multitask" / "config.json").unlink()
  assert _snapshot(tmp_path) == before


def test_retraining_a_generalist_keeps_the_users_files_beside_it(tmp_path):
  from multitask import workflow

  config, names = _multitask(tmp_path)
  workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None)
  (tmp_path / "multitask" / "notes").write_text("mine")
  (tmp_path / "multitask.new").mkdir()  # Names the old code used for its own temporaries.
  (tmp_path / "multitask.old").mkdir()
  config.train.bc_steps = 6
  workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None, overwrite=True)
  assert (tmp_path / "multitask" / "notes").read_text() == "mine"
  assert (tmp_path / "multitask.new").is_dir() and (tmp_path / "multitask.old").is_dir()
  assert sorted(os.listdir(tmp_path / "multitask")) == ["checkpoints", "config.json", "notes"]
  assert workflow.load_generalist(str(tmp_path))[3].train.bc_steps == 6
  assert not [n for n in os.listdir(tmp_path) if n.startswith(".multitask-")]


def test_a_half_replaced_generalist_is_refused_not_misread(tmp_path):
  """A replacement killed between its two renames leaves new checkpoints under the old
  config.json: loading refuses the pair, and --overwrite retrains."""
  import checkpoints as ckpt_lib
  from multitask import workflow

  config, names = _multitask(tmp_path)
  workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None)
  old_record = (tmp_path / "multitask" / "config.json").read_text()
  config.train.learning_rate = config.train.learning_rate * 2
  workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None, overwrite=True)
  (tmp_path / "multitask" / "config.json").write_text(old_record)
  with pytest.raises(ckpt_lib.CheckpointError, match="replacement was interrupted"):
    workflow.load_generalist(str(tmp_path))
  workflow.train_multitask(str(tmp_path), names, config, log=lambda s: None, overwrite=True)
  workflow.load_generalist(str(tmp_path))


# Files a launcher writes at the top of a workdir.

def test_a_users_json_is_never_replaced(tmp_path):
  from multitask import workflow

  path = tmp_path / "transfer.json"
  path.write_text("my notes, not JSON")
  with pytest.raises(InputError, match="not written by hades"):
    workflow.evaluate_transfer(str(tmp_path))
  path.write_text(json.dumps({"tasks": ["hopper"]}))
  with pytest.raises(InputError, match="not written by hades"):
    workdir_lib.check_replaceable_json(str(path), ("tasks", "per_task", "cross_task"))
  assert json.loads(path.read_text()) == {"tasks": ["hopper"]}
  path.write_text(json.dumps({"tasks": [], "per_task": {}, "cross_task": {}}))
  workdir_lib.check_replaceable_json(str(path), ("tasks", "per_task", "cross_task"))


def test_distill_all_refuses_a_users_summary_json_before_any_run(tmp_path):
  import subprocess
  import sys

  (tmp_path / "summary.json").write_text("mine")
  result = subprocess.run(
      [sys.executable, "-m", "launch.distill_all", "--tasks=cartpole", f"--workdir={tmp_path}"],
      cwd=conftest.REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2, result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "not written by hades" in errors[0], result.stderr[-2000:]
  assert sorted(os.listdir(tmp_path)) == ["summary.json"]
  assert (tmp_path / "summary.json").read_text() == "mine"
