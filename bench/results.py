"""Regenerates docs/results.md, and the README's results table, from the current commit.

  python bench/results.py --workdir=/tmp/results          # ~25 min on a 2-core CPU
  python bench/results.py --workdir=/tmp/results --from_workdir   # rewrite from a finished run

Runs the README's main job, `launch.distill_all --tasks=ant,hopper,walker`, with the CPU default
config into an empty --workdir with the compilation cache off (everything is compiled, as on a
fresh machine), times it, and writes the table of what it gave: per task the generations, the
wall time and the written dataset's return over 8 fresh students next to the all-zero dataset
it started from. The page records the command, commit, machine and date; the README's table
(between its `results table` markers) is replaced by the same table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = ("ant", "hopper", "walker2d")
COMMAND = "python -m launch.distill_all --tasks=ant,hopper,walker --workdir=runs/demo"
BEGIN, END = "<!-- results table: bench/results.py -->", "<!-- end of results table -->"


def _minutes(seconds: float) -> str:
  whole = int(round(seconds))
  return f"{whole // 60}m{whole % 60:02d}s"


def _git(*args: str) -> str:
  return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                        check=True).stdout.strip()


def run_main_job(workdir: str, record: dict) -> None:
  """Runs the main job into `workdir` (must be empty or absent), then writes `record` (commit,
  machine, date) to WORKDIR/results_run.json."""
  if os.path.isdir(workdir) and os.listdir(workdir):
    sys.exit(f"error: {workdir} is not empty; the timing needs a fresh workdir")
  command = [sys.executable, "-m", "launch.distill_all", "--tasks=ant,hopper,walker",
             f"--workdir={workdir}", "--compilation_cache=", "--progress=plain"]
  subprocess.run(command, cwd=REPO, check=True)
  with open(os.path.join(workdir, "results_run.json"), "w") as f:
    json.dump(record, f)


def read_rows(workdir: str) -> tuple[list[dict], float]:
  """Per task {task, generations, population, size, wall, mean, std, low, high, zero}, and the
  job's wall time as distill_all recorded it."""
  with open(os.path.join(workdir, "summary.json")) as f:
    job = json.load(f)
  rows = []
  for task in TASKS:
    with open(os.path.join(workdir, task, "summary.json")) as f:
      summary = json.load(f)
    with open(os.path.join(workdir, task, "config.json")) as f:
      config = json.load(f)
    students = summary["per_student"]  # Each student's mean return.
    rows.append(dict(task=task, generations=summary["generations"],
                     population=config["es"]["population_size"],
                     size=config["dataset"]["size"], wall=summary["wall_time"],
                     mean=summary["return_mean"], std=summary["return_std"],
                     low=min(students), high=max(students), students=len(students),
                     zero=job["tasks"][task]["zero_dataset_return"]))
  return rows, job["wall_time"]


def table(rows: list[dict], total: float) -> str:
  lines = ["| task | generations (popsize) | wall time, with the final evaluation | written "
           f"dataset (D={rows[0]['size']}): {rows[0]['students']} fresh students, mean +- std "
           "return (range) | all-zero dataset |", "|---|---|---|---|---|"]
  for r in rows:
    better = r["mean"] > r["zero"]
    score = f"{r['mean']:.1f} +- {r['std']:.1f} ({r['low']:.0f} to {r['high']:.0f})"
    lines.append(f"| {r['task']} | {r['generations']} ({r['population']}) | {_minutes(r['wall'])} "
                 f"| {'**' + score + '**' if better else score} | {r['zero']:.1f} |")
  lines.append(f"| all three | | **{total / 60:.1f} min** | | |")
  return "\n".join(lines)


def page(rows: list[dict], total: float, commit: str, machine: str, day: str) -> str:
  behind = [r["task"] for r in rows if r["mean"] <= r["zero"]]
  verdict = ("Every task's written dataset beats the all-zero dataset the ES starts from." if
             not behind else f"Not better than the all-zero dataset it starts from: "
             f"{', '.join(behind)} (bold marks the tasks that are).")
  return f"""# Results of the current defaults

What the default config (`hades/configs/default.py`) gives today, measured. Made by
`python bench/results.py --workdir=W` at commit {commit}, {day}, on {machine}. The
README's results table is this one. Older measurements, made with earlier defaults, are in
[experiments/](README.md#experiments).

## ant, hopper and walker2d on a CPU

```bash
{COMMAND}
```

{table(rows, total)}

Run with the compilation cache off, so every program was compiled, as on a fresh machine.
Each score is from `<task>/summary.json`: {rows[0]['students']} fresh student inits BC-trained on
the written dataset (the best-validated ES mean), each evaluated for 1024 steps;
`python -m launch.evaluate --dataset=runs/demo/<task>/dataset.npz` scores a dataset the same
way again. The all-zero dataset is scored on the same students (`summary.json` of the job).
{verdict}
"""


def machine() -> str:
  return (f"{platform.node() or 'this machine'} ({platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, no GPU)")


def replace_readme_table(readme: str, new_table: str) -> None:
  with open(readme) as f:
    text = f.read()
  pattern = re.compile(re.escape(BEGIN) + r"\n.*?\n" + re.escape(END), re.S)
  if not pattern.search(text):
    sys.exit(f"error: {readme} has no results table markers ({BEGIN} ... {END})")
  text = pattern.sub(lambda _: f"{BEGIN}\n{new_table}\n{END}", text)
  with open(readme, "w") as f:
    f.write(text)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="empty scratch folder for the run")
  parser.add_argument("--from_workdir", action="store_true",
                      help="do not run; rewrite the page from a run already in --workdir")
  parser.add_argument("--output", default=os.path.join(REPO, "docs", "results.md"))
  parser.add_argument("--readme", default=os.path.join(REPO, "README.md"))
  args = parser.parse_args()
  workdir = os.path.abspath(args.workdir)
  if not args.from_workdir:
    if _git("status", "--porcelain", "--untracked-files=no", "--", "hades", "launch",
            "checkpoints", "multitask", "pyproject.toml"):
      sys.exit("error: commit the code first: the page records the commit it ran")
    run_main_job(workdir, dict(commit=_git("rev-parse", "--short", "HEAD"), machine=machine(),
                               day=datetime.date.today().isoformat()))
  with open(os.path.join(workdir, "results_run.json")) as f:
    record = json.load(f)
  rows, total = read_rows(workdir)
  text = page(rows, total, record["commit"], record["machine"], record["day"])
  with open(args.output, "w") as f:
    f.write(text)
  replace_readme_table(args.readme, table(rows, total))
  print(text)


if __name__ == "__main__":
  main()
