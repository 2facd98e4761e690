"""Distil one task's dataset with HaDES.

  python -m launch.distill --task=hopper --workdir=runs/demo
  python -m launch.distill --task=hopper --workdir=runs/paper --config=hades/configs/paper.py
  python -m launch.distill --task=ant --workdir=runs/x --config.es.population_size=128
  python -m launch.distill --task=ant --config=hades/configs/paper.py --dry_run

Config precedence: the --config file < its preset for the task < --config.* values typed here.
Writes WORKDIR/<task>/{config.json, metrics.jsonl, checkpoints/, dataset.npz, summary.json}.
Rerunning the same command resumes from the latest checkpoint (--resume=auto|never|must);
SIGTERM/SIGINT save a checkpoint before exiting. --dry_run prints the resolved config only.
"""

from __future__ import annotations

from absl import flags

from launch import common

FLAGS = flags.FLAGS
common.define_config()
flags.DEFINE_string("task", None, common.tasks_help("Task to distil (overrides config.task)."))
flags.DEFINE_string("workdir", None, "Output directory; the task writes into WORKDIR/<task>/.")
common.define_run_flags()


def main(argv):
  del argv
  config = common.resolve_task_config(FLAGS.task)
  if FLAGS.dry_run:
    common.print_configs({config.task: config})
    return
  if not FLAGS.workdir:
    raise common.InputError("--workdir is required (or use --dry_run)")
  common.setup_cpu_devices([config])
  common.maybe_initialize_distributed()
  from hades import runner

  workdir = common.task_workdir(FLAGS.workdir, config.task)
  with common.make_progress() as progress:
    runner.distill(config, workdir, resume=FLAGS.resume, progress=progress,
                   overwrite=FLAGS.overwrite)


if __name__ == "__main__":
  common.run(main)
