"""Render an agent acting as a GIF (Brax: and brax's HTML viewer).

  MUJOCO_GL=osmesa python -m launch.render --workdir=runs/demo --task=hopper
  MUJOCO_GL=osmesa python -m launch.render --workdir=runs/demo --agent=generalist

--agent=specialist (default) trains one fresh student on WORKDIR/<task>/dataset.npz (the run's
student settings) and writes WORKDIR/<task>/rollout.gif; --agent=generalist rolls out the
multi-task generalist of WORKDIR/multitask/ (seed 0 of its seeds) on each of its tasks (or
--task) and writes WORKDIR/<task>/generalist.gif. MuJoCo renders off-screen with OSMesa
(`apt-get install libosmesa6`, MUJOCO_GL=osmesa, the default here); --html also writes brax's
HTML viewer file next to each GIF. Discrete tasks (gymnax) are drawn from their observations
(MinAtar grids, CartPole, Acrobot) and need no renderer.
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
flags.DEFINE_string("task", None, common.tasks_help(
    "Task to render (specialist default: hopper; generalist default: all its tasks)."))
flags.DEFINE_enum("agent", "specialist", ["specialist", "generalist"],
                  "specialist: a fresh student trained on the task's own dataset; generalist: "
                  "the multi-task generalist (launch.train_multitask) given the task's id.")
flags.DEFINE_integer("steps", 200, "Env steps to render.")
flags.DEFINE_integer("every", 2, "Keep every n-th frame.")
flags.DEFINE_integer("frame_width", 320, "Frame width in pixels.")
flags.DEFINE_integer("frame_height", 240, "Frame height in pixels.")
flags.DEFINE_integer("seed", 0, "Seed of the student init and the rollout.")
flags.DEFINE_bool("html", False, "Also write brax's HTML viewer file.")
flags.DEFINE_string("output", None,
                    "Write the GIF to this file (default WORKDIR/<task>/rollout.gif or "
                    "generalist.gif; one task).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  import jax

  from hades import render
  from hades import tasks

  workdir = os.path.abspath(FLAGS.workdir)
  options = render.VideoOptions(steps=FLAGS.steps, every=FLAGS.every, width=FLAGS.frame_width,
                                height=FLAGS.frame_height, html=FLAGS.html)
  outputs = []
  if FLAGS.agent == "specialist":
    task = tasks.resolve_task(FLAGS.task or "hopper")
    dataset_path = os.path.join(workdir, tasks.folder(task), "dataset.npz")
    output = FLAGS.output or os.path.join(os.path.dirname(dataset_path), "rollout.gif")
    outputs.append((task, output, render.render_dataset_student(
        dataset_path, output, seed=FLAGS.seed, options=options)))
  else:
    from multitask import workflow

    agent, params, slots, _ = workflow.load_generalist(workdir)
    chosen = [tasks.resolve_task(FLAGS.task)] if FLAGS.task else [s.name for s in slots]
    if FLAGS.output and len(chosen) > 1:
      raise common.InputError("--output names one GIF: pick the task with --task")
    for task in chosen:
      view, seed_params, slot = workflow.generalist_policy(agent, params, slots, task)
      output = FLAGS.output or os.path.join(workdir, tasks.folder(task), "generalist.gif")
      outputs.append((task, output, render.render_policy(
          task, slot.info, view, seed_params, output, jax.random.key(FLAGS.seed), options)))
  for task, output, info in outputs:
    print(f"wrote {output} ({info['frames']} frames, {task} return {info['return']:.1f} over "
          f"{FLAGS.steps} steps)", file=sys.stderr)


if __name__ == "__main__":
  common.run(main, renamed={"width": "frame_width", "height": "frame_height"})
