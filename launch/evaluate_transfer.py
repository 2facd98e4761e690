"""Evaluate the generalist of a workdir per task, against specialists, across tasks and
architectures; writes WORKDIR/transfer.json and WORKDIR/transfer.png.

  python -m launch.evaluate_transfer --workdir=runs/demo
"""

from __future__ import annotations

from absl import flags

from launch import common

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Workdir with multitask/ (launch.train_multitask).")
flags.DEFINE_integer("num_students", None, "Students per specialist/cross-task entry.")
flags.DEFINE_integer("num_steps", None, "Env steps per evaluation.")
flags.DEFINE_integer("repeats", None,
                     "Evaluations of each generalist seed, and batches of specialist students "
                     "(default: the multitask config's eval.generalist_repeats).")
flags.DEFINE_string("architectures", None,
                    "Student settings for architecture transfer, e.g. "
                    "'width=256;depth=3;activation=relu' ('' for none).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  from multitask import workflow

  workflow.evaluate_transfer(FLAGS.workdir, FLAGS.num_students, FLAGS.num_steps,
                             FLAGS.architectures, repeats=FLAGS.repeats)


if __name__ == "__main__":
  common.run(main)
