"""Score the paper's released MinAtar datasets with the authors' protocol; print a table.

  python -m launch.reproduce_minatar --paper_dir=paper --output=runs/minatar.json

Every `minatar_<Env>_D<n>_<distill|overfit>_seed<s>.npz` in --paper_dir goes through the same path
as `launch.evaluate --dataset=<file>`: the authors' student (2x512 ReLU, 64 Adam steps at 0.03
unclipped), 8 envs x 1024 steps, sampled actions, constant observation statistics; HaDES-R
('distill') files with fresh inits, HaDES-F ('overfit') files from the authors' fixed init
(key 420 + seed, drawn with their bit stream). Next to ours: the authors' own training fitness
stored in the file (population mean and max at the last generation).
"""

from __future__ import annotations

import glob
import os
import sys

from absl import flags

from launch import common

FLAGS = flags.FLAGS
flags.DEFINE_string("paper_dir", None, "Directory with the paper's released minatar_*.npz files.")
flags.DEFINE_integer("num_students", 32, "Fresh students per HaDES-R file.")
flags.DEFINE_integer("fixed_init_students", 8,
                     "Students per HaDES-F file (all from the authors' one fixed init).")
flags.DEFINE_string("output", None, "Also write the JSON results to this file.")
flags.mark_flag_as_required("paper_dir")


def main(argv):
  del argv
  import numpy as np

  from hades import evaluation
  from hades import files
  from hades import minatar_files

  paths = sorted(glob.glob(os.path.join(FLAGS.paper_dir, "minatar_*_D*_*_seed*.npz")))
  if not paths:
    raise common.InputError(f"no released MinAtar files (minatar_*.npz) in {FLAGS.paper_dir}")
  rows = []
  print("| file | method | authors' final fitness (pop. mean / max) | ours: mean +- std over "
        "students (n) |")
  print("|---|---|---|---|")
  for path in paths:
    _, _, meta = minatar_files.load_released(path)
    fixed = meta["fixed_init_seed"] is not None
    n = FLAGS.fixed_init_students if fixed else FLAGS.num_students
    result = evaluation.evaluate_dataset_file(path, num_students=n, num_envs=None,
                                              num_steps=1024, seed=0)
    authors_mean = float(np.asarray(meta["fitness_over_gen"])[-1])
    authors_max = float(np.asarray(meta["max_fitness_over_gen"])[-1])
    rows.append(dict(file=os.path.basename(path), method=meta["method"],
                     authors_mean=authors_mean, authors_max=authors_max,
                     ours_mean=result["return_mean"], ours_std=result["return_std"],
                     students=n, per_student=result["per_student"]))
    print(f"| {rows[-1]['file']} | {meta['method']} | {authors_mean:.1f} / {authors_max:.1f} | "
          f"{result['return_mean']:.1f} +- {result['return_std']:.1f} ({n}) |", flush=True)
  if FLAGS.output:
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    files.write_json(FLAGS.output, rows)
    print(f"wrote {FLAGS.output}", file=sys.stderr)


if __name__ == "__main__":
  common.run(main, renamed={"dir": "paper_dir"})
