"""Distil one task's dataset with HaDES.

  python -m launch.distill --task=hopper --workdir=runs/demo
  python -m launch.distill --task=hopper --workdir=runs/paper --config=hades/configs/paper.py
  python -m launch.distill --task=ant --workdir=runs/x --config.es.population_size=128

Writes WORKDIR/<task>/{config.json, metrics.jsonl, checkpoints/, dataset.npz, summary.json}.
Rerunning the same command resumes from the latest checkpoint (--resume=auto|never|must);
SIGTERM/SIGINT save a checkpoint before exiting.
"""

from __future__ import annotations

from absl import flags

from launch import common

FLAGS = flags.FLAGS
common.define_config()
flags.DEFINE_string("task", None, "Task to distil (overrides config.task).")
flags.DEFINE_string("workdir", None, "Output directory; the task writes into WORKDIR/<task>/.")
flags.mark_flag_as_required("workdir")
common.define_resume_flag()
common.define_progress_flag()
common.define_distributed_flags()


def main(argv):
  del argv
  common.maybe_initialize_distributed()
  from hades import distill
  from hades import tasks

  config = FLAGS.config
  if FLAGS.task:
    config.unlock()
    config.task = FLAGS.task
  task = tasks.resolve_task(config.task)
  workdir = common.task_workdir(FLAGS.workdir, task)
  with common.make_progress() as progress:
    distill.distill(config, workdir, resume=FLAGS.resume, progress=progress)


if __name__ == "__main__":
  common.run(main)
