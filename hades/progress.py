"""What a user watches while tasks distil: a live display on a terminal, plain lines otherwise.

`make_progress` picks the display. Both kinds take the same calls from the host loop:
`start_task` / `update(GenerationStats)` / `end_task`, and `log` for one-off messages. On a
terminal (rich) every task has a bar with generation, fitness, best, env steps/s and ETA, and
runs of several tasks add an overall bar; messages print above the bars. Elsewhere (CI, files,
pipes) each update is one plain line, the same text that the live bar shows.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from typing import Protocol, TextIO

from hades.errors import ConfigError

MODES = ("auto", "live", "plain")


def format_duration(seconds: float) -> str:
  """3725 -> '1h02m', 125 -> '2m05s', 7 -> '7s', nan -> '?'."""
  if not math.isfinite(seconds):
    return "?"
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def format_rate(x: float) -> str:
  """24400 -> '24.4k', 1.5e6 -> '1.50M'."""
  return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


def format_score(x: float, digits: int) -> str:
  """A fitness with `digits` decimals, or 3 when |x| < 1 (accuracies, supervised tasks)."""
  return f"{x:.3f}" if abs(x) < 1 else f"{x:.{digits}f}"


@dataclasses.dataclass(frozen=True)
class GenerationStats:
  """The state of a task's run after a host call (the last generation of its chunk)."""

  task: str
  generation: int
  num_generations: int
  fitness_mean: float
  fitness_max: float
  best: float
  env_steps_per_s: float
  sec_per_generation: float
  eta_s: float
  validated: float = math.nan  # Best validation return of the ES mean so far (nan: none yet).
  validated_generation: int = 0
  step_unit: str = "env-steps"  # What env_steps_per_s counts (the task family's unit).

  def _validated(self, digits: int) -> str:
    if not math.isfinite(self.validated):
      return ""
    return f"val {format_score(self.validated, digits)}@{self.validated_generation} | "

  def summary(self) -> str:
    m, mx, b = (format_score(x, 1) for x in (self.fitness_mean, self.fitness_max, self.best))
    return (f"fitness mean {m} max {mx} | best {b} | {self._validated(1)}"
            f"{format_rate(self.env_steps_per_s)} {self.step_unit}/s | "
            f"{self.sec_per_generation:.2f} s/gen")

  def compact(self) -> str:
    """The live bar's text (terminal lines are short)."""
    m, mx, b = (format_score(x, 0) for x in (self.fitness_mean, self.fitness_max, self.best))
    return (f"mean {m} max {mx} best {b} | "
            f"{self._validated(0)}{format_rate(self.env_steps_per_s)} steps/s "
            f"{self.sec_per_generation:.2f} s/gen")

  def line(self) -> str:
    return (f"[{self.task}] gen {self.generation}/{self.num_generations} | {self.summary()} | "
            f"ETA {format_duration(self.eta_s)}")


class Progress(Protocol):
  """What the host loop reports to: messages, and per task start / updates / end."""

  def log(self, message: str) -> None:
    ...

  def start_task(self, task: str, num_generations: int, done: int = 0) -> None:
    ...

  def update(self, stats: GenerationStats) -> None:
    ...

  def end_task(self, task: str) -> None:
    ...


class PlainProgress:
  """One line per update through `log` (stderr by default)."""

  def __init__(self, log: Callable[[str], None] | None = None):
    self._log = log or (lambda s: print(s, file=sys.stderr, flush=True))

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False

  def log(self, message: str) -> None:
    self._log(message)

  def start_task(self, task: str, num_generations: int, done: int = 0) -> None:
    del task, num_generations, done

  def update(self, stats: GenerationStats) -> None:
    self._log(stats.line())

  def end_task(self, task: str) -> None:
    del task


class LiveProgress:
  """Bars redrawn in place on a terminal (rich): one per task, plus an overall one when
  `num_tasks` > 1. Use as a context manager around the run."""

  def __init__(self, num_tasks: int = 1, stream: TextIO | None = None,
               width: int | None = None):
    from rich import console as rich_console
    from rich import progress as rich_progress

    self._console = rich_console.Console(file=stream or sys.stderr, force_terminal=True,
                                         width=width)
    self._bars = rich_progress.Progress(
        rich_progress.TextColumn("{task.description}", markup=False),
        rich_progress.BarColumn(bar_width=16),
        rich_progress.TextColumn("{task.completed:>4.0f}/{task.total:<4.0f}"),
        rich_progress.TextColumn("{task.fields[summary]}", markup=False),
        rich_progress.TextColumn("{task.fields[eta]}", markup=False),
        console=self._console, refresh_per_second=4, transient=False)
    self._num_tasks = num_tasks
    self._tasks_done = 0
    self._overall = None
    self._ids: dict[str, int] = {}
    self._totals: dict[str, int] = {}

  def __enter__(self):
    self._bars.start()
    if self._num_tasks > 1:
      self._overall = self._bars.add_task(f"all {self._num_tasks} tasks", total=self._num_tasks,
                                          summary="", eta="")
    return self

  def __exit__(self, *exc):
    self._bars.stop()
    return False

  def log(self, message: str) -> None:
    self._bars.console.print(message, markup=False, highlight=False)

  def start_task(self, task: str, num_generations: int, done: int = 0) -> None:
    self._totals[task] = num_generations
    self._ids[task] = self._bars.add_task(f"[{task}]", total=num_generations, completed=done,
                                          summary="compiling..." if done < num_generations
                                          else "", eta="ETA ?")
    self._set_overall(task, done)

  def update(self, stats: GenerationStats) -> None:
    self._bars.update(self._ids[stats.task], completed=stats.generation,
                      summary=stats.compact(), eta=f"ETA {format_duration(stats.eta_s)}")
    self._set_overall(stats.task, stats.generation)

  def end_task(self, task: str) -> None:
    self._tasks_done += 1
    if task in self._ids:
      self._bars.update(self._ids[task], eta="done")
    self._set_overall(None, 0)

  def _set_overall(self, task: str | None, done: int) -> None:
    if self._overall is None:
      return
    fraction = done / self._totals[task] if task else 0.0
    self._bars.update(self._overall, completed=self._tasks_done + fraction,
                      summary=f"task {min(self._tasks_done + 1, self._num_tasks)}"
                              f"/{self._num_tasks}", eta="")


def make_progress(mode: str = "auto", num_tasks: int = 1, stream: TextIO | None = None):
  """A live display when `mode` is 'live', or 'auto' and `stream` (stderr) is a terminal;
  plain lines otherwise."""
  if mode not in MODES:
    raise ConfigError(f"unknown progress mode {mode!r}; choose one of {MODES}")
  stream = stream or sys.stderr
  live = mode == "live" or (mode == "auto" and hasattr(stream, "isatty") and stream.isatty())
  if live:
    return LiveProgress(num_tasks, stream)
  return PlainProgress(lambda s: print(s, file=stream, flush=True))
