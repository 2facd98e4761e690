"""Distil several tasks one after the other, each into WORKDIR/<task>/.

  python -m launch.distill_all --tasks=ant,hopper,walker --workdir=runs/demo

Every task is validated before the first one starts. Writes WORKDIR/summary.json with each
task's final fresh-student return next to the all-zero dataset's.
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import flags
from ml_collections import config_flags

from launch import common

import hades.configs

FLAGS = flags.FLAGS
DEFAULT_CONFIG = os.path.join(os.path.dirname(hades.configs.__file__), "default.py")
config_flags.DEFINE_config_file("config", DEFAULT_CONFIG, "Config file (ml_collections).",
                                lock_config=True)
flags.DEFINE_string("tasks", "ant,hopper,walker", "Comma-separated tasks.")
flags.DEFINE_string("workdir", None, "Output directory; task T writes into WORKDIR/T/.")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  from hades import distill
  from hades import tasks as tasks_lib

  names = [tasks_lib.resolve_task(t) for t in common.split_list(FLAGS.tasks)]
  if not names:
    raise ValueError("--tasks is empty")
  configs = {}
  for name in names:  # Validate everything before spending minutes on the first task.
    config = FLAGS.config.copy_and_resolve_references()
    config.unlock()
    config.task = name
    distill.resolve_config(config)
    configs[name] = config
  workdirs = {name: common.task_workdir(FLAGS.workdir, name) for name in names}

  t0 = time.time()
  results = {}
  for i, name in enumerate(names):
    print(f"=== task {i + 1}/{len(names)}: {name} (elapsed {time.time() - t0:.0f}s) ===",
          file=sys.stderr, flush=True)
    summary = distill.distill(configs[name], workdirs[name])
    results[name] = {k: summary[k] for k in ("return_mean", "return_std", "episodes",
                                             "zero_dataset_return", "wall_time")}
  total = time.time() - t0
  with open(os.path.join(os.path.abspath(FLAGS.workdir), "summary.json"), "w") as f:
    json.dump({"tasks": results, "wall_time": total}, f, indent=2)
  print(f"=== all {len(names)} tasks done in {total / 60:.1f} min ===", file=sys.stderr)
  for name, r in results.items():
    print(f"  {name:<26} distilled {r['return_mean']:8.1f} +- {r['return_std']:6.1f}   "
          f"zero dataset {r['zero_dataset_return']:8.1f}", file=sys.stderr)


if __name__ == "__main__":
  common.run(main)
