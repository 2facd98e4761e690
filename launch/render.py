"""Render a student trained on a distilled dataset acting in Brax, as a GIF (and HTML viewer).

  MUJOCO_GL=osmesa python -m launch.render --workdir=runs/demo --task=hopper

Trains one fresh student on WORKDIR/<task>/dataset.npz (the run's student settings), rolls it
out for --steps steps and writes WORKDIR/<task>/rollout.gif (MuJoCo's renderer; on a machine
without a display it needs OSMesa: `apt-get install libosmesa6` and MUJOCO_GL=osmesa) and, with
--html, brax's HTML viewer file rollout.html.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])

from absl import flags  # noqa: E402

from launch import common  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Workdir of a distillation.")
flags.DEFINE_string("task", "hopper", "Task whose dataset to use.")
flags.DEFINE_enum("agent", "specialist", ["specialist"],
                  "Which agent: a student trained on the task's own dataset.")
flags.DEFINE_integer("steps", 200, "Env steps to render.")
flags.DEFINE_integer("every", 2, "Keep every n-th frame.")
flags.DEFINE_integer("width", 320, "Frame width.")
flags.DEFINE_integer("height", 240, "Frame height.")
flags.DEFINE_integer("seed", 0, "Seed of the student init and the rollout.")
flags.DEFINE_bool("html", False, "Also write brax's HTML viewer file.")
flags.DEFINE_string("output", None, "GIF path (default WORKDIR/<task>/rollout.gif).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  from hades import render
  from hades import tasks

  task = tasks.resolve_task(FLAGS.task)
  dataset_path = os.path.join(os.path.abspath(FLAGS.workdir), task, "dataset.npz")
  output = FLAGS.output or os.path.join(os.path.dirname(dataset_path), "rollout.gif")
  info = render.render_dataset_student(
      dataset_path, output, steps=FLAGS.steps, every=FLAGS.every, width=FLAGS.width,
      height=FLAGS.height, seed=FLAGS.seed, html=FLAGS.html)
  print(f"wrote {output} ({info['frames']} frames, return {info['return']:.1f} over "
        f"{FLAGS.steps} steps)", file=sys.stderr)


if __name__ == "__main__":
  common.run(main)
