"""A study as a grid of ordinary, resumable runs, and its tables (the studies themselves are
`hades.studies`).

A study is a list of `StudyRun`s, each an ordinary distillation (or neuroevolution) run in its
own subdirectory of the study's workdir; `launch.study` runs them (skipping finished ones,
resuming interrupted ones) and `summarize` turns their summaries and metrics into the study's
table and curves.

A run's config: the run config file < its task preset < the study's sizing for the task
(`task_overrides` in hades/configs/study.py) < the grid point < the command line; a
command-line value for the field the study varies is an error.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections
import numpy as np

from hades import config as config_lib
from hades import files
from hades import tasks as tasks_lib
from hades.errors import ConfigError



@dataclasses.dataclass(frozen=True)
class StudyRun:
  """One run of a study.

  Attributes:
    name: its subdirectory, '<task>/<series>/seed<k>'.
    task, seed: the run's task and seed.
    series: the curve/row it belongs to ('HaDES', 'params', 'D=4', 'HaDES-R', ...).
    x: its position on the study's x-axis (D for dataset_size; else nan).
    config: its resolved config.
  """

  name: str
  task: str
  seed: int
  series: str
  x: float
  config: ml_collections.ConfigDict


def _resolve(base: ml_collections.ConfigDict, task: str, seed: int, settings, point: dict,
             cli: Mapping[str, Any]) -> ml_collections.ConfigDict:
  sizing = settings.task_overrides.get(tasks_lib.resolve_task(task), None)
  overrides = dict(config_lib.flatten(sizing.to_dict() if sizing else {}))
  overrides.update(point)
  overrides.update(cli)
  overrides.update(task=task, seed=seed)
  return config_lib.resolve_config(base, overrides)


def make_runs(kind, base: ml_collections.ConfigDict, tasks: Sequence[str], num_seeds: int,
              settings: ml_collections.ConfigDict, cli: Mapping[str, Any] | None = None
              ) -> list[StudyRun]:
  """The grid of a study: every run's resolved config, validated before anything runs.

  Args:
    kind: the study (`studies.Study`: its grid and the fields it varies).
    base: the run config file's config (`--config`).
    tasks: task names; num_seeds: seeds base.seed, base.seed + 1, ...
    settings: the study's settings (`hades/configs/study.py`'s entry for `study`).
    cli: the run-config values typed on the command line ({'es.population_size': 64}).
  """
  cli = dict(cli or {})
  cli.pop("task", None)
  first_seed = int(cli.pop("seed", base.seed))
  clash = sorted(k for k in cli if k in kind.varies)
  if clash:
    raise ConfigError(f"the {kind.name} study varies {', '.join(clash)} itself; drop "
                      f"--config.{clash[0]} (or run launch.distill for one setting)")
  if not tasks:
    raise ConfigError("no tasks given")
  if num_seeds < 1:
    raise ConfigError(f"--num_seeds must be >= 1, got {num_seeds}")
  runs = []
  for task in tasks:
    for seed in range(first_seed, first_seed + num_seeds):
      resolve = functools.partial(_resolve, base, task, seed, settings, cli=cli)
      for series, x, point in kind.grid(resolve, settings):
        config = resolve(point)
        runs.append(StudyRun(f"{config.task}/{series}/seed{seed}", config.task, seed, series, x,
                             config))
  return runs


def env_steps_per_generation(config: ml_collections.ConfigDict) -> int:
  """Env steps one generation of a resolved config takes (all candidates, students, envs)."""
  return (config.es.population_size * config.hades.num_students * config.eval.num_envs
          * config.eval.num_steps)


def read_run(workdir: str) -> dict | None:
  """A finished run's summary.json with its metrics curve ('curve': generation, env_steps,
  wall_time, validated return), or None when it has not finished."""
  path = os.path.join(workdir, "summary.json")
  if not os.path.exists(path):
    return None
  summary = files.read_json(path)
  steps_per_gen = summary.get("env_steps_per_generation", math.nan)
  curve = {"generation": [], "env_steps": [], "wall_time": [], "return": []}
  metrics = os.path.join(workdir, "metrics.jsonl")
  if os.path.exists(metrics):
    for row in files.read_jsonl(metrics):
      if "generation" not in row or "validation/best_return" not in row:
        continue
      if not math.isfinite(row["validation/best_return"]):
        continue
      curve["generation"].append(row["generation"])
      curve["env_steps"].append(row["generation"] * steps_per_gen)
      curve["wall_time"].append(row.get("wall_time", math.nan))
      curve["return"].append(row["validation/best_return"])
  summary["curve"] = curve
  return summary


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float, int]:
  """(mean, standard error, n) over seeds; stderr 0 for a single value, nan for none."""
  x = np.asarray([v for v in values if v is not None and math.isfinite(v)], np.float64)
  if x.size == 0:
    return math.nan, math.nan, 0
  se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0
  return float(x.mean()), se, int(x.size)


def summarize(study: str, runs: Sequence[StudyRun], results: Mapping[str, dict],
              transfer: Mapping[str, dict] | None = None, paper: Mapping | None = None) -> dict:
  """The study's table: per task and series, the final return's mean +- standard error over
  seeds (and, for init_mode, per transfer student); `results` maps run names to `read_run`."""
  table: dict = {}
  for run in runs:
    result = results.get(run.name)
    if result is None:
      continue
    row = table.setdefault(run.task, {}).setdefault(run.series, {"x": run.x, "returns": [],
                                                                 "wall_time": []})
    row["returns"].append(result["return_mean"])
    row["wall_time"].append(result.get("wall_time", math.nan))
    if transfer and run.name in transfer:
      for variant, score in transfer[run.name].items():
        row.setdefault("transfer", {}).setdefault(variant, []).append(score["return_mean"])
  for task_rows in table.values():
    for row in task_rows.values():
      row["mean"], row["stderr"], row["n"] = mean_and_stderr(row["returns"])
      for variant, values in row.get("transfer", {}).items():
        row["transfer"][variant] = dict(zip(("mean", "stderr", "n"), mean_and_stderr(values)))
  # Every finished run's whole wall time (a resumed run counts all its legs), summed: what the
  # study cost, whichever invocations ran it.
  walls = [r.get("wall_time", math.nan) for r in results.values() if r is not None]
  out = {"study": study, "tasks": table,
         "runs_wall_time": float(np.nansum(walls)) if walls else 0.0}
  if paper:
    out["paper"] = paper
  return out


def markdown(summary: dict) -> str:
  """study.md: one table per task (mean +- standard error over seeds)."""
  lines = [f"# Study: {summary['study']}", ""]
  if "runs_wall_time" in summary:
    lines += [f"Run time: {summary['runs_wall_time'] / 3600:.2f} h (the runs' own wall times, "
              "summed)", ""]
  for task, rows in summary["tasks"].items():
    lines += [f"## {task}", "",
              "| series | final return (mean +- s.e.) | seeds | wall time / run |",
              "|---|---|---|---|"]
    for series, row in rows.items():
      wall = np.nanmean(row["wall_time"]) if row["wall_time"] else math.nan
      lines.append(f"| {series} | {row['mean']:.1f} +- {row['stderr']:.1f} | {row['n']} | "
                   f"{wall / 60:.1f} min |")
    variants = sorted({v for row in rows.values() for v in row.get("transfer", {})})
    if variants:
      lines += ["", "Transfer: datasets scored by other students (mean +- s.e. over seeds)", "",
                "| student | " + " | ".join(rows) + " |", "|---" * (len(rows) + 1) + "|"]
      for variant in variants:
        cells = [f"{row['transfer'][variant]['mean']:.1f} +- "
                 f"{row['transfer'][variant]['stderr']:.1f}" if variant in row.get("transfer", {})
                 else "n/a" for row in rows.values()]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    paper = (summary.get("paper") or {}).get(task)
    if paper:
      lines += ["", "Paper's released sweep files, scored here (mean +- s.e. over seeds):", "",
                "| D | return |", "|---|---|"]
      for size, stat in sorted(paper.items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {size} | {stat['mean']:.1f} +- {stat['stderr']:.1f} |")
    lines.append("")
  return "\n".join(lines)
