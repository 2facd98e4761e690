"""A run's written dataset against the ES's starting dataset, on the same fresh students.

  python bench/against_start.py --workdir=runs/demo --tasks=ant --num_students=16

For each task: `<workdir>/<task>/dataset.npz` and the dataset its ES started from (stored in the
same file, `start_states` / `start_actions`: all zeros for control tasks) are scored by the
same `--num_students` student inits and evaluation keys (`--seed`), with the run's own student
and evaluation settings (its config.json), as `launch.evaluate` scores a file. Prints one line
per task: both means, their ratio, and how many students of the written dataset score below
`--below`; `--output` also writes the per-student returns as JSON.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from hades import dataset as dataset_lib
from hades import errors
from hades import evaluation


def compare(path: str, num_students: int, seed: int) -> dict:
  """Scores the dataset at `path` and its ES's starting dataset on the same students."""
  saved = evaluation.load_run_config(path)
  dataset, info = dataset_lib.load(path)
  start_states = dataset_lib.load_extra(path, "start_states")
  start_actions = dataset_lib.load_extra(path, "start_actions")
  if start_states is None or start_actions is None:
    raise errors.DatasetFileError(
        f"{path} has no starting dataset (start_states, start_actions)")
  start = dataset.replace(states=start_states, actions=start_actions)
  student = {**info.student, **saved.get("student", {})}
  kwargs = dict(num_students=num_students, num_envs=saved.get("final_eval", {}).get("num_envs")
                or saved.get("eval", {}).get("num_envs", 4),
                num_steps=saved.get("final_eval", {}).get("num_steps", 1024), seed=seed)
  written = evaluation.evaluate_dataset(dataset, info, student, **kwargs)
  zero = evaluation.evaluate_dataset(start, info, student, **kwargs)
  return {"dataset": path, "written": written["per_student"], "start": zero["per_student"],
          **kwargs}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--tasks", default="ant")
  parser.add_argument("--num_students", type=int, default=16)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--below", type=float, default=500.0)
  parser.add_argument("--output", default="")
  args = parser.parse_args()
  results = {}
  for task in args.tasks.split(","):
    try:
      result = compare(os.path.join(args.workdir, task, "dataset.npz"), args.num_students,
                       args.seed)
    except errors.InputError as e:
      parser.exit(2, f"error: {e}\n")
    written, start = np.asarray(result["written"]), np.asarray(result["start"])
    print(f"{task}: written {written.mean():.1f} +- {written.std():.1f} (min {written.min():.1f}"
          f", {int((written < args.below).sum())}/{written.size} below {args.below:g}); start "
          f"{start.mean():.1f} +- {start.std():.1f}; ratio {written.mean() / start.mean():.2f}",
          flush=True)
    results[task] = result
  if args.output:
    with open(args.output, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
