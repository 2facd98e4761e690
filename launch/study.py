"""Run one of the paper's studies as a grid of ordinary, resumable runs, then tabulate and plot.

  python -m launch.study --study=neuroevolution --tasks=hopper,cartpole --num_seeds=3 --workdir=W
  python -m launch.study --study=dataset_size --tasks=hopper --workdir=W \
      --paper_dir=paper  (launch.import_paper output)
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

import os
import time

from absl import flags

from hades import studies
from hades.progress import format_duration
from launch import common

FLAGS = flags.FLAGS
common.define_config()
flags.DEFINE_enum("study", None, list(studies.STUDIES), "Which study to run.")
flags.DEFINE_string("tasks", None, common.tasks_help("Comma-separated tasks (required)."))
flags.DEFINE_integer("num_seeds", 3, "Seeds per grid point (config.seed, config.seed + 1, ...).")
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


def main(argv):
  del argv
  from hades import study as study_lib

  if FLAGS.study is None:
    raise common.InputError(f"--study is required: one of {', '.join(studies.STUDIES)}")
  if not FLAGS.tasks:
    raise common.InputError("--tasks is required: the tasks to run the study on (e.g. "
                            "--tasks=hopper)")
  study = studies.get_study(FLAGS.study)
  settings = FLAGS.study_config[FLAGS.study]
  runs = study_lib.make_runs(study, FLAGS.config, common.split_list(FLAGS.tasks), FLAGS.num_seeds,
                             settings, _cli_overrides())
  if FLAGS.dry_run:
    common.print_configs({run.name: run.config for run in runs})
    return
  if not FLAGS.workdir:
    raise common.InputError("--workdir is required (or use --dry_run)")
  common.setup_cpu_devices([run.config for run in runs])
  common.maybe_initialize_distributed()
  from hades import files
  from hades import runner
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
      scores = study.after_run(run, workdir, settings, progress.log)
      if scores is not None:
        transfer[run.name] = scores
  tasks = list(dict.fromkeys(run.task for run in runs))
  paper = study.reference(tasks, runs[0].config.final_eval.num_students,
                          {"paper_dir": FLAGS.paper_dir})
  summary = study_lib.summarize(FLAGS.study, runs, results, transfer, paper)
  summary.update(settings=settings.to_dict(), seeds=FLAGS.num_seeds,
                 invocation_wall_time=time.time() - t0,
                 runs={name: {k: r[k] for k in ("return_mean", "return_std", "wall_time")}
                       for name, r in results.items()})
  files.write_json(os.path.join(root, "study.json"), summary)
  files.write_text(os.path.join(root, "study.md"), study_lib.markdown(summary))
  for task in tasks:
    path = os.path.join(root, f"{FLAGS.study}_{task}.png")
    study.plot(task, summary["tasks"].get(task, {}), runs, results, paper.get(task), path)
  print(study_lib.markdown(summary))


if __name__ == "__main__":
  common.run(main, renamed={"seeds": "num_seeds"})
