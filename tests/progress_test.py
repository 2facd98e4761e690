"""Progress displays: plain lines off a terminal, live bars on one."""

import io

import pytest

from hades import progress


def _stats(task="hopper", generation=10, total=100, eta=95.0):
  return progress.GenerationStats(task, generation, total, fitness_mean=812.25, fitness_max=1103.0,
                                  best=1200.5, env_steps_per_s=24400.0, sec_per_generation=2.5,
                                  eta_s=eta)


def test_formatting():
  assert progress.format_duration(3725) == "1h02m"
  assert progress.format_duration(125) == "2m05s"
  assert progress.format_duration(7) == "7s"
  assert progress.format_duration(float("nan")) == "?"
  assert progress.format_rate(24400) == "24.4k"
  assert progress.format_rate(1.5e6) == "1.50M"


def test_plain_progress_one_line_per_update_with_every_figure():
  lines = []
  with progress.PlainProgress(lines.append) as p:
    p.start_task("hopper", 100)
    p.log("hello")
    p.update(_stats())
    p.end_task("hopper")
  assert lines == ["hello", "[hopper] gen 10/100 | fitness mean 812.2 max 1103.0 | best 1200.5 | "
                   "24.4k env-steps/s | 2.50 s/gen | ETA 1m35s"]


def test_progress_shows_the_best_validated_return_once_there_is_one():
  import dataclasses

  validated = dataclasses.replace(_stats(), validated=1432.46, validated_generation=120)
  assert "| val 1432.5@120 | 24.4k env-steps/s" in validated.line()
  assert "val 1432@120" in validated.compact()
  assert "val" not in _stats().line()


class _Terminal(io.StringIO):

  def isatty(self):
    return True


def test_auto_mode_is_plain_off_a_terminal_and_live_on_one():
  assert isinstance(progress.make_progress("auto", stream=io.StringIO()), progress.PlainProgress)
  assert isinstance(progress.make_progress("auto", stream=_Terminal()), progress.LiveProgress)
  assert isinstance(progress.make_progress("live", stream=io.StringIO()), progress.LiveProgress)
  assert isinstance(progress.make_progress("plain", stream=_Terminal()), progress.PlainProgress)
  with pytest.raises(ValueError, match="unknown progress mode"):
    progress.make_progress("fancy")


def test_live_progress_draws_task_bars_an_overall_bar_and_messages():
  stream = _Terminal()
  with progress.LiveProgress(num_tasks=2, stream=stream, width=120) as p:
    p.log("=== task 1/2: hopper ===")
    p.start_task("hopper", 100)
    p.update(_stats(generation=100, eta=0.0))
    p.end_task("hopper")
    p.start_task("ant", 50, done=20)  # Resumed at generation 20.
    p.update(_stats("ant", 25, 50, eta=61.0))
  out = stream.getvalue()
  assert "=== task 1/2: hopper ===" in out
  assert "[hopper]" in out and "[ant]" in out and "all 2 tasks" in out
  assert "mean 812 max 1103 best 1200 | 24.4k steps/s 2.50 s/gen" in out and "ETA 1m01s" in out
  assert "25/50" in out and "task 2/2" in out
  assert "\x1b[" in out  # Redrawn in place with terminal control codes.
