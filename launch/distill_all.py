"""Distil several tasks one after the other, each into WORKDIR/<task>/.

  python -m launch.distill_all --tasks=ant,hopper,walker --workdir=runs/demo
  python -m launch.distill_all --tasks=ant,hopper --config=hades/configs/paper.py --dry_run

Every task is validated before the first one starts. Finished tasks (same resolved config) are
skipped and unfinished ones resume from their checkpoints, so rerunning the command after a
crash continues the work; a task whose results come from another config is refused unless
--overwrite. Writes WORKDIR/summary.json with each task's final fresh-student return next to the
all-zero dataset's.
"""

from __future__ import annotations

import os
import sys
import time

from absl import flags

from launch import common

FLAGS = flags.FLAGS
common.define_config()
flags.DEFINE_string("tasks", "ant,hopper,walker", common.tasks_help("Comma-separated tasks."))
flags.DEFINE_string("workdir", None, "Output directory; task T writes into WORKDIR/T/.")
flags.DEFINE_enum("then", None, ["multitask"],
                  "After distilling: 'multitask' trains the generalist on the datasets and "
                  "writes the transfer evaluation (launch.train_multitask + evaluate_transfer, "
                  "default multitask config).")
common.define_run_flags()


def main(argv):
  del argv
  names = common.split_list(FLAGS.tasks)
  if not names:
    raise common.InputError("--tasks is empty")
  # Validate everything before spending minutes on the first task.
  configs = {}
  for name in names:
    config = common.resolve_task_config(name)
    configs[config.task] = config
  if FLAGS.dry_run:
    common.print_configs(configs)
    return
  if not FLAGS.workdir:
    raise common.InputError("--workdir is required (or use --dry_run)")
  common.setup_cpu_devices(configs.values())
  common.maybe_initialize_distributed()
  from hades import files
  from hades import runner
  from hades import workdir as workdir_lib

  names = list(configs)
  summary_path = os.path.join(os.path.abspath(FLAGS.workdir), "summary.json")
  workdir_lib.check_replaceable_json(summary_path, ("tasks", "wall_time"))
  workdirs = {name: common.task_workdir(FLAGS.workdir, name) for name in names}
  t0 = time.time()
  results = {}
  with common.make_progress(len(names)) as progress:
    for i, name in enumerate(names):
      progress.log(f"=== task {i + 1}/{len(names)}: {name} (elapsed {time.time() - t0:.0f}s) ===")
      if FLAGS.resume != "never" and workdir_lib.is_finished(workdirs[name], configs[name]):
        progress.log(f"[{name}] already finished with this config in {workdirs[name]}; "
                     "skipping")
        summary = files.read_json(os.path.join(workdirs[name], "summary.json"))
        progress.end_task(name)
      else:
        summary = runner.distill(configs[name], workdirs[name], resume=FLAGS.resume,
                                 progress=progress, overwrite=FLAGS.overwrite)
      results[name] = {k: summary[k] for k in ("return_mean", "return_std", "episodes",
                                               "wall_time", "config_hash")}
      # The ES's starting point: the all-zero dataset (neuroevolution: the initial weights).
      results[name]["zero_dataset_return"] = summary.get(
          "zero_dataset_return", summary.get("initial_policy_return", float("nan")))
  total = time.time() - t0
  files.write_json(summary_path, {"tasks": results, "wall_time": total})
  print(f"=== all {len(names)} tasks done in {total / 60:.1f} min ===", file=sys.stderr)
  for name, r in results.items():
    print(f"  {name:<26} distilled {r['return_mean']:8.1f} +- {r['return_std']:6.1f}   "
          f"zero dataset {r['zero_dataset_return']:8.1f}", file=sys.stderr)
  if FLAGS.then == "multitask":
    from multitask import workflow
    from multitask.configs import default as multitask_default

    workflow.train_multitask(FLAGS.workdir, names, multitask_default.get_config(),
                             overwrite=FLAGS.overwrite)
    workflow.evaluate_transfer(FLAGS.workdir)


if __name__ == "__main__":
  common.run(main)
