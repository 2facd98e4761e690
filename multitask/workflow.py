"""Workdir-level steps: train the generalist on WORKDIR/<task>/dataset.npz files and checkpoint
it in WORKDIR/multitask/; evaluate it and write WORKDIR/transfer.json and transfer.png."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile

import jax
import ml_collections
import numpy as np

import checkpoints
from hades import dataset as dataset_lib
from hades import evaluation
from hades import files
from hades import tasks as tasks_lib
from hades import workdir as workdir_lib
from hades.errors import InputError
from multitask import agent as agent_lib
from multitask import combine
from multitask import evaluate as evaluate_lib
from multitask import report as report_lib
from multitask import train as train_lib


def _stderr(message: str) -> None:
  print(message, file=sys.stderr, flush=True)


def find_tasks(workdir: str) -> list[str]:
  """Tasks of a workdir that have a distilled dataset, in registry order."""
  return [t for t in tasks_lib.TASKS if os.path.exists(os.path.join(workdir, t, "dataset.npz"))]


def load_task_datasets(workdir: str, names: list[str]) -> tuple[dict, dict, dict]:
  """({task: (dataset, info)}, {task: student settings}, {task: eval envs}) from a workdir."""
  datasets, students, num_envs = {}, {}, {}
  for name in names:
    task = tasks_lib.resolve_task(name)
    path = os.path.join(workdir, tasks_lib.folder(task), "dataset.npz")
    datasets[task] = dataset_lib.load(path)
    if datasets[task][1].task != task:
      raise dataset_lib.DatasetFileError(
          f"{path} holds a dataset for {datasets[task][1].task}, not {task}")
    saved = evaluation.load_run_config(path)
    info = datasets[task][1]
    # A run's own student, else the one a released file was made for (MinAtar), else paper's.
    students[task] = saved.get("student", info.student)
    num_envs[task] = saved.get("eval", {}).get("num_envs", info.eval_envs or 4)
  return datasets, students, num_envs


def resolve_agent_config(config: ml_collections.ConfigDict,
                         students: dict) -> ml_collections.ConfigDict:
  """Fills agent.width / agent.depth <= 0 with the largest of the tasks' distillation students
  (`students`: {task: student settings from its run's config.json})."""
  config = config.copy_and_resolve_references()
  settings = [evaluation.student_settings(task, student) for task, student in students.items()]
  with config.unlocked():
    for field in ("width", "depth"):
      if config.agent[field] <= 0:
        config.agent[field] = max(int(getattr(s, field)) for s in settings)
  return config


def _agent(config, slots):
  return agent_lib.make_agent(len(slots), max(s.act_size for s in slots), config.agent.width,
                              config.agent.depth, config.agent.activation,
                              config.agent.conditioning, config.agent.embed_dim,
                              config.agent.per_task_heads,
                              config.agent.get("per_task_inputs", False),
                              [s.obs_size for s in slots])


def _abstract_params(agent, max_obs, num_seeds):
  init = train_lib.make_init(agent, max_obs)
  return jax.eval_shape(init, jax.random.split(jax.random.key(0), num_seeds))


def train_multitask(workdir: str, names: list[str], config: ml_collections.ConfigDict,
                    log=_stderr, overwrite: bool = False) -> dict:
  """Trains config.train.num_seeds generalists on the tasks' datasets; checkpoints them in
  WORKDIR/multitask/.

  A generalist already there with the same resolved config and datasets is kept (nothing to
  do); one with a different config or datasets is replaced only with `overwrite`, once the new
  one is saved. A WORKDIR/multitask/ that holds no generalist is refused: hades touches only
  what it wrote.
  """
  workdir = os.path.abspath(workdir)
  if not os.path.isdir(workdir):
    raise InputError(f"workdir not found: {workdir}")
  with checkpoints.WorkdirLock(workdir):
    return _train_multitask(workdir, names, config, log, overwrite)


def _train_multitask(workdir: str, names: list[str], config: ml_collections.ConfigDict,
                     log, overwrite: bool) -> dict:
  _remove_stale_staging(workdir, log)
  datasets, students, _ = load_task_datasets(workdir, names)
  config = resolve_agent_config(config, students)
  data, slots = combine.combine(datasets)
  meta = {"config": config.to_dict(), "tasks": [s.name for s in slots],
          "obs_sizes": [s.obs_size for s in slots], "act_sizes": [s.act_size for s in slots],
          "datasets": dataset_hashes(datasets)}
  out_dir = os.path.join(workdir, "multitask")
  existing = _read_meta(out_dir)
  if existing is None and os.path.lexists(out_dir):
    raise InputError(
        f"{out_dir} exists but holds no generalist (no config.json of one); hades will not "
        "touch it: move it away or use another --workdir")
  same = existing is not None and ({k: v for k, v in existing.items()
                                     if k not in ("final_loss", "parameters")}
                                    == json.loads(json.dumps(meta)))
  if same and _checkpoint_matches(out_dir, existing):
    log(f"[multitask] {out_dir} already holds generalists trained with this config and "
        "these datasets; keeping them")
    return {"tasks": meta["tasks"], "final_loss": existing.get("final_loss"), "reused": True}
  if same:  # Its record is ours but the checkpoint is missing, unreadable or another's.
    log(f"[multitask] the generalists {out_dir}/config.json describes have no usable "
        "checkpoint (an interrupted save); training them again")
  elif existing is not None and not overwrite:
    changed = _changed_datasets(existing, meta["datasets"])
    what = (f"other datasets ({', '.join(changed)} changed since)" if changed and
            existing.get("tasks") == meta["tasks"] else
            f"another config or tasks ({', '.join(existing.get('tasks', []))})")
    raise checkpoints.CheckpointError(
        f"{out_dir} holds generalists trained with {what}; pass --overwrite to replace them")
  agent = _agent(config, slots)
  log(f"[multitask] training {config.train.num_seeds} generalists "
      f"({config.agent.depth}x{config.agent.width} {config.agent.activation}) on "
      f"{', '.join(f'{s.name} (D={s.size})' for s in slots)} for {config.train.bc_steps} steps")
  params, loss = train_lib.train_generalists(
      agent, data, jax.random.key(config.seed), config.train.num_seeds, config.train.bc_steps,
      config.train.learning_rate, config.train.max_grad_norm)
  final_loss = [float(x) for x in np.asarray(loss)]
  sharing = agent_lib.parameter_sharing(agent, jax.tree.map(lambda x: x[0], params))
  _save_generalist(workdir, out_dir, config.train.bc_steps, params, meta,
                   dict(meta, final_loss=final_loss, parameters=sharing))
  log(f"[multitask] final BC loss per seed: {np.round(final_loss, 3).tolist()}; "
      f"{sharing['shared']}/{sharing['total']} parameters "
      f"({100 * sharing['shared_fraction']:.1f}%) shared by all tasks")
  return {"tasks": meta["tasks"], "final_loss": final_loss, "parameters": sharing}


def _save_generalist(workdir: str, out_dir: str, step: int, params, meta: dict,
                     record: dict) -> None:
  """Saves generalists `params` into `out_dir` (checkpoints/ and config.json `record`),
  replacing the ones there. Only what this function writes is moved or deleted: other files in
  `out_dir` stay. Each new file is complete before it is moved in, and config.json comes last."""
  staging = tempfile.mkdtemp(prefix=".multitask-new-", dir=workdir)
  ckpt = checkpoints.RunCheckpointer(os.path.join(staging, "checkpoints"), keep_latest=1,
                                     keep_best=0)
  ckpt.save(step, params, meta)
  ckpt.close()
  files.write_json(os.path.join(staging, "config.json"), record)
  if not os.path.lexists(out_dir):
    os.replace(staging, out_dir)
    return
  old = tempfile.mkdtemp(prefix=".multitask-old-", dir=workdir)
  checkpoints_dir = os.path.join(out_dir, "checkpoints")
  if os.path.lexists(checkpoints_dir):
    os.replace(checkpoints_dir, os.path.join(old, "checkpoints"))
  os.replace(os.path.join(staging, "checkpoints"), checkpoints_dir)
  # Until this replace, config.json describes the old generalists: `load_generalist` refuses
  # the pair (checkpoint meta and config.json differ) and --overwrite retrains.
  os.replace(os.path.join(staging, "config.json"), os.path.join(out_dir, "config.json"))
  os.rmdir(staging)
  shutil.rmtree(old)


def _remove_stale_staging(workdir: str, log) -> None:
  """Removes what an interrupted `_save_generalist` left in `workdir` (its .multitask-new-* and
  .multitask-old-* folders, which hold only checkpoints/ and config.json); the caller holds the
  workdir lock, so no other save is under way."""
  for name in sorted(os.listdir(workdir)):
    path = os.path.join(workdir, name)
    if (name.startswith((".multitask-new-", ".multitask-old-")) and os.path.isdir(path)
        and not os.path.islink(path)
        and set(os.listdir(path)) <= {"checkpoints", "config.json"}):
      log(f"[multitask] removing {path}, left by an interrupted save")
      shutil.rmtree(path)


def _checkpoint_matches(out_dir: str, meta: dict) -> bool:
  """Whether `out_dir`/checkpoints holds a readable checkpoint whose record is `meta`'s."""
  if not os.path.isdir(os.path.join(out_dir, "checkpoints")):
    return False
  ckpt = checkpoints.RunCheckpointer(os.path.join(out_dir, "checkpoints"))
  try:
    step = ckpt.latest_step()
    if step is None:
      return False
    saved = ckpt.read_meta(step)
  except Exception:  # noqa: BLE001 - unreadable: train again.
    return False
  finally:
    ckpt.close()
  keys = ("config", "tasks", "datasets")
  return all(json.loads(json.dumps(saved.get(k))) == meta.get(k) for k in keys)


def dataset_hashes(datasets: dict) -> dict[str, str]:
  """{task: content hash} of {task: (dataset, info)}: which inputs a generalist was made from."""
  return {task: dataset_lib.content_hash(data, info) for task, (data, info) in datasets.items()}


def _changed_datasets(meta: dict, current: dict[str, str]) -> list[str]:
  saved = meta.get("datasets", {})
  return sorted(t for t in current if saved.get(t) != current[t])


def _read_meta(out_dir: str) -> dict | None:
  """WORKDIR/multitask/config.json of a generalist, or None if there is none. InputError when
  a config.json there is not a generalist's (hades does not touch such a directory)."""
  meta = files.read_config_json(out_dir)
  if meta is not None and not (isinstance(meta, dict) and
                               all(k in meta for k in ("config", "tasks", "datasets"))):
    raise InputError(f"{out_dir}/config.json is not a generalist's; hades will not touch "
                     f"{out_dir}: move it away or use another --workdir")
  return meta


def load_generalist(workdir: str):
  """(agent, params [S], slots, config) restored from WORKDIR/multitask/."""
  out_dir = os.path.join(os.path.abspath(workdir), "multitask")
  meta = _read_meta(out_dir)
  if meta is None:
    raise InputError(f"no generalist in {out_dir}; run launch.train_multitask first")
  config = ml_collections.ConfigDict(meta["config"])
  datasets, _, _ = load_task_datasets(workdir, meta["tasks"])
  changed = _changed_datasets(meta, dataset_hashes(datasets))
  if changed:
    raise checkpoints.CheckpointError(
        f"the generalist in {out_dir} was trained on other datasets ({', '.join(changed)} "
        "changed since); retrain it with launch.train_multitask --overwrite")
  data, slots = combine.combine(datasets)
  agent = _agent(config, slots)
  abstract = _abstract_params(agent, data.states.shape[-1], config.train.num_seeds)
  ckpt = checkpoints.RunCheckpointer(os.path.join(out_dir, "checkpoints"))
  restored = ckpt.restore(abstract, functools.partial(_check_checkpoint_meta, meta, out_dir))
  ckpt.close()
  if restored is None:
    raise InputError(f"no generalist checkpoint in {out_dir}; run launch.train_multitask")
  return agent, restored[1], slots, config


def _check_checkpoint_meta(meta: dict, out_dir: str, saved: dict) -> None:
  """Refuses a generalist checkpoint whose own record is not what config.json says."""
  keys = ("config", "tasks", "datasets")
  if any(json.loads(json.dumps(saved.get(k))) != meta.get(k) for k in keys):
    raise checkpoints.CheckpointError(
        f"the checkpoint in {out_dir} is not the generalist its config.json describes (a "
        "replacement was interrupted); retrain with launch.train_multitask --overwrite")


def generalist_policy(agent, params, slots: list[combine.TaskSlot], task: str, seed: int = 0):
  """(policy, params, slot): generalist number `seed` of `params` [S] seen as `task`'s
  single-task policy (`agent.TaskView`), for rollouts and rendering."""
  by_name = {s.name: s for s in slots}
  if task not in by_name:
    raise InputError(f"the generalist was not trained on {task}; its tasks: "
                     f"{', '.join(by_name)}")
  slot = by_name[task]
  view = agent_lib.TaskView(agent, slot.index, max(s.obs_size for s in slots), slot.act_size)
  return view, jax.tree.map(lambda x: x[seed], params), slot


def parse_architectures(text: str) -> list[dict]:
  """'width=256;activation=relu,depth=3' -> [{'width': 256}, {'activation': 'relu', 'depth': 3}]."""
  settings = []
  for group in filter(None, (g.strip() for g in text.split(";"))):
    setting = {}
    for item in group.split(","):
      k, _, v = item.partition("=")
      k, v = k.strip(), v.strip()
      if k not in ("width", "depth", "activation", "learning_rate", "bc_steps"):
        raise InputError(f"unknown architecture setting {k!r}; use width, depth, activation, "
                         "learning_rate or bc_steps")
      setting[k] = v if k == "activation" else (float(v) if k == "learning_rate" else int(v))
    settings.append(setting)
  return settings


def evaluate_transfer(workdir: str, num_students: int | None = None,
                      num_steps: int | None = None, architectures: str | None = None,
                      log=_stderr, repeats: int | None = None) -> dict:
  """Writes WORKDIR/transfer.json and WORKDIR/transfer.png; returns the report."""
  workdir = os.path.abspath(workdir)
  workdir_lib.check_replaceable_json(os.path.join(workdir, "transfer.json"),
                                     ("tasks", "per_task", "cross_task"))
  agent, params, slots, config = load_generalist(workdir)
  datasets, students, num_envs = load_task_datasets(workdir, [s.name for s in slots])
  settings = evaluate_lib.TransferSettings(
      num_students=num_students or config.eval.num_students,
      num_steps=num_steps or config.eval.num_steps,
      architectures=tuple(parse_architectures(architectures if architectures is not None
                                              else config.eval.architectures)),
      seed=config.seed, generalist_repeats=repeats or config.eval.generalist_repeats)
  report = evaluate_lib.evaluate_transfer(agent, params, slots, datasets, students, num_envs,
                                          settings, log=log)
  report["parameters"] = agent_lib.parameter_sharing(agent, jax.tree.map(lambda x: x[0], params))
  if any(s.discrete for s in slots) and not all(s.discrete for s in slots):
    report["cross_task_note"] = ("datasets are transplanted only between tasks of the same "
                                 "action kind (discrete or continuous); other cells are NaN")
  files.write_json(os.path.join(workdir, "transfer.json"), report)
  report_lib.plot_transfer(report, os.path.join(workdir, "transfer.png"))
  return report
