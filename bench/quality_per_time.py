"""Dataset quality per CPU-minute: validated return vs wall-clock and vs env steps, over seeds.

  python bench/quality_per_time.py --workdir=/tmp/qpt                      # hopper, walker2d
  python bench/quality_per_time.py --workdir=/tmp/qpt --tasks=hopper --seeds=0 \
      --config=hades/configs/default.py --plot=/tmp/qpt/default.png

Runs `launch.distill` once per task and seed (one after the other, each alone on the machine, as
a user would; a finished run is kept and not rerun; runs share the launchers' compilation cache,
so a task's later seeds load the programs its first seed compiled), then reads each run's
metrics.jsonl (the best-validated return of the ES mean after each validation, against the run's
wall-clock and env steps, validation's own env steps included) and summary.json (fresh students
trained on the written dataset). Prints a table and plots both curves with a band over seeds,
with the authors' code's reference point (`--reference`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# The authors' code (github.com/FLAIROx/behaviour-distillation) on hopper, measured on this
# project's 2-core CPU machine class: about 1027 after 15 minutes.
AUTHORS_REFERENCE = "hopper:15:1027"


def run_one(config: str, task: str, seed: int, workdir: str, overrides: list[str]) -> str:
  """Runs (or finds finished) one distillation; returns its task directory."""
  task_dir = os.path.join(workdir, task)
  if os.path.exists(os.path.join(task_dir, "summary.json")):
    print(f"[{task} seed {seed}] finished earlier, kept", file=sys.stderr)
    return task_dir
  cmd = [sys.executable, "-m", "launch.distill", f"--config={config}", f"--task={task}",
         f"--workdir={workdir}", f"--config.seed={seed}", "--progress=plain",
         *[f"--config.{o}" for o in overrides]]
  print(" ".join(cmd[1:]), file=sys.stderr, flush=True)
  subprocess.run(cmd, cwd=REPO, check=True)
  return task_dir


def read_run(task_dir: str) -> dict:
  """Curves of one run: minutes, env steps and best-validated return at each validation."""
  with open(os.path.join(task_dir, "config.json")) as f:
    config = json.load(f)
  with open(os.path.join(task_dir, "summary.json")) as f:
    summary = json.load(f)
  with open(os.path.join(task_dir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  es, ev, val = config["es"], config["eval"], config["validation"]
  per_generation = (es["population_size"] * config["hades"]["num_students"] * ev["num_envs"]
                    * ev["num_steps"])
  per_validation = val["num_students"] * ev["num_envs"] * ev["num_steps"]
  minutes, steps, best = [], [], []
  validations = 0
  for row in rows:
    validations += "validation/return" in row
    if "validation/return" in row:
      minutes.append(row["wall_time"] / 60)
      steps.append(row["generation"] * per_generation + validations * per_validation)
      # The written dataset's validation return (older runs: validation/best was that).
      best.append(row.get("validation/best_return", row["validation/best"]))
  return {"minutes": np.array(minutes), "env_steps": np.array(steps, np.float64),
          "best_validated": np.array(best), "summary": summary,
          "total_minutes": summary["wall_time"] / 60}


def band(runs: list[dict], x_key: str, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean and standard error over runs of the best-validated return (a step function: the
  value of the last validation at or before each grid point; NaN before a run's first)."""
  values = []
  for r in runs:
    index = np.searchsorted(r[x_key], grid, side="right") - 1
    values.append(np.where(index >= 0, r["best_validated"][np.maximum(index, 0)], np.nan))
  values = np.array(values)
  n = np.sum(np.isfinite(values), axis=0)
  mean = np.nanmean(np.where(n > 0, values, 0.0), axis=0)
  sem = np.nanstd(values, axis=0) / np.sqrt(np.maximum(n, 1))
  return np.where(n == len(runs), mean, np.nan), np.where(n == len(runs), sem, np.nan)


def plot(results: dict[str, list[dict]], reference: str, path: str) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100, sharey=True)
  for i, (task, runs) in enumerate(results.items()):
    color = f"C{i}"
    for ax, key, scale in ((axes[0], "minutes", 1.0), (axes[1], "env_steps", 1e6)):
      end = max(r[key][-1] for r in runs)
      grid = np.linspace(0, end, 400)
      mean, sem = band(runs, key, grid)
      ax.plot(grid / scale, mean, color=color, label=f"{task}: best-validated mean "
                                                     f"({len(runs)} seeds, +- s.e.)")
      ax.fill_between(grid / scale, mean - sem, mean + sem, color=color, alpha=0.25,
                      linewidth=0)
      finals = [r["summary"]["return_mean"] for r in runs]
      x_end = np.mean([r["total_minutes"] if key == "minutes" else r[key][-1] for r in runs])
      ax.errorbar([x_end / scale], [np.mean(finals)], yerr=[np.std(finals)], fmt="s",
                  color=color, capsize=3,
                  label=f"{task}: written dataset, 8 fresh students (mean, std over seeds)")
  for item in filter(None, reference.split(",")):
    task, minutes, value = item.split(":")
    axes[0].plot([float(minutes)], [float(value)], "*", color="k", markersize=12,
                 label=f"authors' code, {task} ({minutes} min)")
  axes[0].set(xlabel="wall-clock minutes (2-core CPU, compile included)",
              ylabel="return of fresh students")
  axes[1].set(xlabel="env steps (millions, validation included)")
  for ax in axes:
    ax.grid(alpha=0.3)
  axes[0].legend(fontsize=7, loc="lower right")
  fig.suptitle("HaDES dataset quality per CPU-minute", fontsize=10)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path)
  plt.close(fig)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--tasks", default="hopper,walker2d")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--config", default=os.path.join(REPO, "hades", "configs", "cpu15.py"))
  parser.add_argument("--set", action="append", default=[], help="config override k=v")
  parser.add_argument("--reference", default=AUTHORS_REFERENCE,
                      help="task:minutes:return points to mark, comma-separated ('' none)")
  parser.add_argument("--plot", default="", help="PNG path (default WORKDIR/quality.png)")
  args = parser.parse_args()

  results: dict[str, list[dict]] = {}
  print("| task | seed | minutes | written dataset (8 fresh students) | best validated "
        "(generation) | final ES mean |")
  print("|---|---|---|---|---|---|")
  for task in args.tasks.split(","):
    for seed in [int(s) for s in args.seeds.split(",")]:
      task_dir = run_one(args.config, task, seed, os.path.join(args.workdir, f"seed{seed}"),
                         args.set)
      run = read_run(task_dir)
      results.setdefault(task, []).append(run)
      s = run["summary"]
      print(f"| {task} | {seed} | {run['total_minutes']:.1f} | {s['return_mean']:.1f} +- "
            f"{s['return_std']:.1f} | {s.get('validation_return', float('nan')):.1f} "
            f"({s.get('validation_generation', '-')}) | "
            f"{s.get('final_mean_return_mean', s['return_mean']):.1f} +- "
            f"{s.get('final_mean_return_std', s['return_std']):.1f} |", flush=True)
  for task, runs in results.items():
    finals = np.array([r["summary"]["return_mean"] for r in runs])
    print(f"{task}: written dataset {finals.mean():.1f} +- {finals.std():.1f} over "
          f"{len(runs)} seeds, {np.mean([r['total_minutes'] for r in runs]):.1f} min per run")
  path = args.plot or os.path.join(args.workdir, "quality.png")
  plot(results, args.reference, path)
  print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
  main()
