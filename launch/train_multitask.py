"""Train a task-conditioned generalist by BC on the distilled datasets of a workdir.

  python -m launch.train_multitask --workdir=runs/demo --tasks=ant,hopper,walker

Uses WORKDIR/<task>/dataset.npz (from launch.distill_all), no environment interaction, and
checkpoints the generalists (one per seed) in WORKDIR/multitask/ with orbax.
"""

from __future__ import annotations

import os

from absl import flags

from launch import common

import multitask.configs

FLAGS = flags.FLAGS
common.define_config(os.path.join(os.path.dirname(multitask.configs.__file__), "default.py"),
                     "Multitask config file.")
flags.DEFINE_string("workdir", None, "Workdir holding <task>/dataset.npz.")
flags.DEFINE_string("tasks", None, common.tasks_help(
    "Comma-separated tasks (default: every task with a dataset)."))
flags.DEFINE_bool("overwrite", False,
                  "Replace generalists already in WORKDIR/multitask/ that were trained with "
                  "another config or other datasets: their checkpoints and config.json are "
                  "replaced, nothing else. The same config and datasets: kept, nothing to do.")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  from multitask import workflow

  names = (common.split_list(FLAGS.tasks) if FLAGS.tasks
           else workflow.find_tasks(os.path.abspath(FLAGS.workdir)))
  if not names:
    raise common.InputError(f"no <task>/dataset.npz in {FLAGS.workdir}; run launch.distill_all")
  workflow.train_multitask(FLAGS.workdir, names, FLAGS.config, overwrite=FLAGS.overwrite)


if __name__ == "__main__":
  common.run(main)
