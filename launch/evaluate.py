"""Train fresh students on a dataset by BC and report their return.

  python -m launch.evaluate --dataset=runs/x/hopper/dataset.npz
  python -m launch.evaluate --dataset=paper/brax_hopper_D64_distill_seed0.npz
  python -m launch.evaluate --num_students=64 \
      --dataset=paper/minatar_Breakout-MinAtar_D16_distill_seed0.npz
  python -m launch.evaluate --task=fashion_mnist --dataset=runs/x/fashion_mnist/dataset.npz

Student settings default to the run's own config.json next to the dataset, or to the paper's
student for the paper's released files (Brax: 2x512 tanh, task BC steps; MinAtar: the authors'
2x512 ReLU, Adam 0.03 unclipped, the file's BC steps, 8 envs x 1024 steps); flags override.
Prints JSON (mean +- std return over students x finished episodes); --output also writes it.
Supervised tasks (fashion_mnist): test_accuracy_mean / test_accuracy_std (fractions) of the
fresh students, and under "baselines" the same for random real images (same images per
class), class means and the full training set (same student and steps, minibatches).
"""

from __future__ import annotations

import json
import os
import sys

from absl import flags

from launch import common

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "Dataset .npz (ours or one of the paper's released files).")
flags.DEFINE_string("task", None, common.tasks_help("Task; default: the dataset's own task."))
flags.DEFINE_enum("normalization", None, ["running", "constant", "none"],
                  "Override the dataset's observation normalisation mode.")
flags.DEFINE_integer("num_students", 8, "Fresh students (each its own init and eval key).")
flags.DEFINE_integer("num_envs", None,
                     "Parallel envs per student (default: the run config's eval.num_envs, which "
                     "running normalisation depends on; else the released file's protocol: 4 "
                     "for Brax, 8 for MinAtar).")
flags.DEFINE_integer("num_steps", 1024, "Env steps per env.")
flags.DEFINE_integer("student_width", None, "Student width (default: run config, else 512).")
flags.DEFINE_integer("student_depth", None,
                     "Student hidden layers (default: run config, else 2).")
flags.DEFINE_string("student_activation", None,
                    "Student activation (default: run config, else tanh).")
flags.DEFINE_integer("bc_steps", None, "BC steps (default: run config, else the task's).")
flags.DEFINE_float("learning_rate", None, "BC learning rate (default: run config, else 5e-3).")
flags.DEFINE_string("backend", None, "Brax backend (default: the dataset's).")
flags.DEFINE_integer("seed", 0, "Seed for student inits and evaluation.")
flags.DEFINE_string("output", None, "Also write the JSON result to this file.")
flags.DEFINE_string("data_dir", None, "Supervised tasks: directory of the MNIST-format IDX files "
                    "(default: the run config's data.dir, else the dataset's, else "
                    "/usr/share/datasets/fashion-mnist).")
flags.DEFINE_bool("baselines", True, "Supervised tasks: also score random real images (same "
                  "images per class), class means and the full training set.")
flags.DEFINE_integer("full_train_batch", 256, "Supervised tasks: minibatch of the full-training-"
                     "set baseline (same student and steps); 0: skip that baseline.")
flags.mark_flag_as_required("dataset")


def main(argv):
  del argv
  from hades import evaluation
  from hades import files

  saved = evaluation.load_run_config(FLAGS.dataset)
  student = saved.get("student", {})
  num_envs = saved.get("eval", {}).get("num_envs")  # None: the file's protocol, else 4.
  if FLAGS.num_envs is not None:
    num_envs = FLAGS.num_envs
  given = {"width": FLAGS.student_width, "depth": FLAGS.student_depth,
           "activation": FLAGS.student_activation, "bc_steps": FLAGS.bc_steps,
           "learning_rate": FLAGS.learning_rate}
  overrides = {k: v for k, v in given.items() if v is not None}
  student.update(overrides)
  data = saved.get("data", {})
  family_options = dict(data_dir=FLAGS.data_dir or data.get("dir"),
                        validation_size=data.get("validation_size", 5000),
                        full_train_batch=FLAGS.full_train_batch, baselines=FLAGS.baselines)
  result = evaluation.evaluate_dataset_file(
      FLAGS.dataset, task=FLAGS.task, normalization=FLAGS.normalization, student=student,
      backend=FLAGS.backend, num_students=FLAGS.num_students, num_envs=num_envs,
      num_steps=FLAGS.num_steps, seed=FLAGS.seed, family_options=family_options)
  text = json.dumps(result, indent=2)
  print(text)
  if FLAGS.output:
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    files.write_text(FLAGS.output, text + "\n")
  print(evaluation.describe_result(result), file=sys.stderr)

if __name__ == "__main__":
  common.run(main, renamed={"width": "student_width", "depth": "student_depth",
                            "activation": "student_activation"})
