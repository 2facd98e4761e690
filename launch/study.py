"""Run one of the paper's studies as a grid of ordinary, resumable runs, then tabulate and plot.

  python -m launch.study --study=neuroevolution --tasks=hopper,cartpole --seeds=3 --workdir=W
  python -m launch.study --study=dataset_size --tasks=hopper --workdir=W \
      --paper_dir=../shared/reference
  python -m launch.study --study=init_mode --tasks=hopper --workdir=W
  python -m launch.study --study=dataset_size --config=hades/configs/paper.py \
      --study_config=hades/configs/study_paper.py --tasks=halfcheetah --workdir=W   # GPUs

Studies (hades/study.py): neuroevolution (HaDES vs an ES on the student's weights at equal env
steps), dataset_size (return vs D), init_mode (HaDES-R vs HaDES-F datasets scored by other
students). Every run is its own subdirectory WORKDIR/<task>/<series>/seed<k>: finished runs are
skipped, interrupted ones resume, so rerunning the command continues the study. Writes
WORKDIR/study.json, WORKDIR/study.md (mean +- standard error over seeds) and
WORKDIR/<study>_<task>.png. Run configs: --config file < its task preset < the study's sizing
(--study_config) < the grid point < --config.* typed here.
"""

from __future__ import annotations

import glob
import json
import os
import re
import time

from absl import flags

from hades.progress import format_duration
from launch import common

FLAGS = flags.FLAGS
common.define_config()
flags.DEFINE_enum("study", None, ["neuroevolution", "dataset_size", "init_mode"],
                  "Which study to run.")
flags.DEFINE_string("tasks", "hopper", "Comma-separated tasks.")
flags.DEFINE_integer("seeds", 3, "Seeds per grid point (config.seed, config.seed + 1, ...).")
flags.DEFINE_string("workdir", None, "The study's directory (one subdirectory per run).")
flags.DEFINE_string("paper_dir", None,
                    "dataset_size: a directory with the paper's released sweep files "
                    "(brax_sweepD_<task>_D<d>_distill_seed<k>.npz), scored as a 'paper' series.")
common.define_run_flags()


def _define_study_config():
  from ml_collections import config_flags

  import hades.configs

  default = os.path.join(os.path.dirname(hades.configs.__file__), "study.py")
  config_flags.DEFINE_config_file("study_config", default, "Study settings (ml_collections).",
                                  lock_config=True)


_define_study_config()


def _cli_overrides() -> dict:
  from ml_collections import config_flags

  return dict(config_flags.get_override_values(FLAGS["config"]))


def _paper_series(task: str, num_students: int) -> dict:
  """{D: mean +- s.e. over the released sweep files' seeds} for `task` (empty without files)."""
  from hades import evaluation
  from hades import study as study_lib

  if not FLAGS.paper_dir:
    return {}
  if not os.path.isdir(FLAGS.paper_dir):
    raise common.InputError(f"--paper_dir {FLAGS.paper_dir} is not a directory")
  by_size: dict[str, list[float]] = {}
  for path in sorted(glob.glob(os.path.join(FLAGS.paper_dir, f"brax_sweepD_{task}_D*_*.npz"))):
    match = re.search(r"_D(\d+)_distill_seed\d+\.npz$", path)
    if match:
      result = evaluation.evaluate_dataset_file(path, num_students=num_students, seed=0)
      by_size.setdefault(match.group(1), []).append(result["return_mean"])
  return {d: dict(zip(("mean", "stderr", "n"), study_lib.mean_and_stderr(v)))
          for d, v in by_size.items()}


def _transfer(run, workdir: str, settings, log) -> dict:
  """init_mode: the run's dataset scored by every transfer student; cached in
  <run>/transfer.json with what it was computed from, recomputed when that changed. Each
  student's compiled scorer is kept for the next runs (`evaluation.shared_dataset_scorer`)."""
  from hades import dataset as dataset_lib
  from hades import evaluation
  from hades import files
  from hades import study as study_lib

  final = run.config.final_eval
  with open(os.path.join(workdir, "summary.json")) as f:
    made_by = json.load(f)["config_hash"]
  key = {"dataset_config_hash": made_by, "students": settings.students.to_dict(),
         "num_students": settings.num_students, "num_envs": final.num_envs or
         run.config.eval.num_envs, "num_steps": final.num_steps, "seed": run.seed + 1}
  path = os.path.join(workdir, "transfer.json")
  if os.path.exists(path):
    with open(path) as f:
      cached = json.load(f)
    if json.loads(json.dumps(key)) == cached.get("computed_from"):
      return cached["scores"]
  dataset, info = dataset_lib.load(os.path.join(workdir, "dataset.npz"))
  scores = {}
  for name, change in study_lib.transfer_students(settings).items():
    student = {**run.config.student.to_dict(), **change}
    scorer = evaluation.shared_dataset_scorer(run.task, info, student, settings.num_students,
                                              key["num_envs"], key["num_steps"])
    scores[name] = scorer(dataset, key["seed"])
    log(f"[{run.name}] student {name}: {scores[name]['return_mean']:.1f} +- "
        f"{scores[name]['return_std']:.1f}")
  files.write_json(path, {"computed_from": key, "scores": scores})
  return scores


def main(argv):
  del argv
  from hades import study as study_lib

  if FLAGS.study is None:
    raise common.InputError(f"--study is required: one of {', '.join(study_lib.STUDIES)}")
  settings = FLAGS.study_config[FLAGS.study]
  runs = study_lib.make_runs(FLAGS.study, FLAGS.config, common.split_list(FLAGS.tasks),
                             FLAGS.seeds, settings, _cli_overrides())
  if FLAGS.dry_run:
    common.print_configs({run.name: run.config for run in runs})
    return
  if not FLAGS.workdir:
    raise common.InputError("--workdir is required (or use --dry_run)")
  common.setup_cpu_devices([run.config for run in runs])
  common.maybe_initialize_distributed()
  from hades import files
  from hades import runner
  from hades import study_plots
  from hades import workdir as workdir_lib

  root = os.path.abspath(FLAGS.workdir)
  workdir_lib.check_replaceable_json(os.path.join(root, "study.json"), ("study", "tasks"))
  t0, ran, results, transfer = time.time(), 0, {}, {}
  with common.make_progress(len(runs)) as progress:
    for i, run in enumerate(runs):
      workdir = common.task_workdir(root, run.name)
      elapsed = time.time() - t0
      eta = elapsed / ran * (len(runs) - i) if ran else float("nan")
      progress.log(f"=== {FLAGS.study}: run {i + 1}/{len(runs)} {run.name} (elapsed "
                   f"{format_duration(elapsed)}, ETA {format_duration(eta)}) ===")
      if FLAGS.resume != "never" and workdir_lib.is_finished(workdir, run.config):
        progress.log(f"[{run.name}] already finished with this config; skipping")
        progress.end_task(run.task)
      else:
        runner.distill(run.config, workdir, resume=FLAGS.resume, progress=progress,
                       overwrite=FLAGS.overwrite)
        ran += 1
      results[run.name] = study_lib.read_run(workdir)
      if FLAGS.study == "init_mode":
        transfer[run.name] = _transfer(run, workdir, settings, progress.log)
  tasks = list(dict.fromkeys(run.task for run in runs))
  paper = ({t: s for t in tasks if (s := _paper_series(t, runs[0].config.final_eval.num_students))}
           if FLAGS.study == "dataset_size" else {})
  summary = study_lib.summarize(FLAGS.study, runs, results, transfer, paper)
  summary.update(settings=settings.to_dict(), seeds=FLAGS.seeds, wall_time=time.time() - t0,
                 runs={name: {k: r[k] for k in ("return_mean", "return_std", "wall_time")}
                       for name, r in results.items()})
  files.write_json(os.path.join(root, "study.json"), summary)
  with open(os.path.join(root, "study.md"), "w") as f:
    f.write(study_lib.markdown(summary))
  for task in tasks:
    path = os.path.join(root, f"{FLAGS.study}_{task}.png")
    rows = summary["tasks"].get(task, {})
    if FLAGS.study == "neuroevolution":
      curves = {}
      for run in runs:
        if run.task == task and results.get(run.name):
          curves.setdefault(run.series, []).append(results[run.name]["curve"])
      study_plots.plot_curves(task, curves, path)
    elif FLAGS.study == "dataset_size":
      study_plots.plot_dataset_size(task, rows, paper.get(task), path)
    else:
      study_plots.plot_transfer(task, rows, path)
  print(study_lib.markdown(summary))


if __name__ == "__main__":
  common.run(main)
