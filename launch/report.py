"""Plots and a summary page for a workdir written by launch.distill / distill_all.

  python -m launch.report --workdir=runs/demo

Writes, per task, WORKDIR/<task>/fitness.png (fitness over generations) and dataset.png (the
distilled states and actions as heat-maps; MinAtar: the game frames the states encode, one
row per action label; supervised tasks: the images by class next to those they started
from), and WORKDIR/report.md embedding them with a table
of final returns (and WORKDIR/transfer.png when present).
"""

from __future__ import annotations

import math
import os
import sys

from absl import flags

from launch import common

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Workdir of a distillation (holds <task>/ directories).")
flags.mark_flag_as_required("workdir")


def main(argv):
  del argv
  from hades import dataset as dataset_lib
  from hades import files
  from hades import plots
  from hades import progress
  from hades import tasks as tasks_lib

  fmt = lambda x: progress.format_score(x, 1)  # noqa: E731  (accuracies: 3 decimals)

  workdir = os.path.abspath(FLAGS.workdir)
  if not os.path.isdir(workdir):
    raise common.InputError(f"workdir not found: {workdir}")
  tasks = sorted(d for d in os.listdir(workdir)
                 if os.path.exists(os.path.join(workdir, d, "metrics.jsonl")))
  if not tasks:
    raise common.InputError(f"no task runs (<task>/metrics.jsonl) in {workdir}")
  lines = ["# HaDES report", "", f"Workdir: `{workdir}`", "",
           "| task | generations | distilled dataset return (supervised: test accuracy) | "
           "dataset | final ES mean | ES start (all-zero; supervised: class means) | wall time |",
           "|---|---|---|---|---|---|---|"]
  # Every input is read before anything is drawn: a file that cannot be read changes nothing.
  runs = []
  for task in tasks:
    tdir = os.path.join(workdir, task)
    metrics = plots.read_metrics(os.path.join(tdir, "metrics.jsonl"))
    dataset_path = os.path.join(tdir, "dataset.npz")
    data = None
    if os.path.exists(dataset_path):
      data = (*dataset_lib.load(dataset_path),
              dataset_lib.load_extra(dataset_path, "start_states"))
    summary_path = os.path.join(tdir, "summary.json")
    s = files.read_json(summary_path) if os.path.exists(summary_path) else None
    runs.append((task, tdir, metrics, data, s))
  sections = []
  for task, tdir, metrics, data, s in runs:
    plots.plot_fitness(metrics, task, os.path.join(tdir, "fitness.png"))
    section = [f"## {task}", "", f"![fitness]({task}/fitness.png)", ""]
    if data is not None:
      dataset, info, start = data
      tasks_lib.plot_dataset(dataset, info, os.path.join(tdir, "dataset.png"), start=start)
      section += [f"![dataset]({task}/dataset.png)", ""]
    if s is not None:
      if "validation_generation" in s:
        selected = f"best-validated mean (gen {s['validation_generation']})"
        final_mean = (f"{fmt(s['final_mean_return_mean'])} +- "
                      f"{fmt(s['final_mean_return_std'])}" if "final_mean_return_mean" in s
                      else "not scored")
      else:
        selected, final_mean = "final mean", "(same)"
      # Neuroevolution runs: the ES's initial weights in place of a starting dataset.
      start = s.get("zero_dataset_return", s.get("initial_policy_return", math.nan))
      lines.append(f"| {task} | {s['generations']} | {fmt(s['return_mean'])} +- "
                   f"{fmt(s['return_std'])} | {selected} | {final_mean} | {fmt(start)} | "
                   f"{s['wall_time'] / 60:.1f} min |")
    else:
      lines.append(f"| {task} | {int(metrics['generation'][-1])} (running) | | | | | |")
    sections += section
  if os.path.exists(os.path.join(workdir, "transfer.png")):
    sections += ["## Task transfer", "", "![transfer](transfer.png)", ""]
  files.write_text(os.path.join(workdir, "report.md"), "\n".join(lines + [""] + sections) + "\n")
  print(f"wrote {os.path.join(workdir, 'report.md')} and plots for {', '.join(tasks)}",
        file=sys.stderr)


if __name__ == "__main__":
  common.run(main)
