"""The resumable host loop: one task's distillation, from a config to files in its workdir.

`distill` validates everything, takes the workdir's lock, restores the latest checkpoint (or
starts at the ES mean of zeros), runs the jitted generations chunk by chunk with metrics,
progress and checkpoints, and writes the results:

  config.json     the resolved config          metrics.jsonl   one row per generation
  checkpoints/    orbax, latest K + best       dataset.npz     the best-validated ES mean
  summary.json    fresh students trained on the dataset, next to the all-zero dataset's
(neuroevolution, `config.method='params'`: policy.npz, the weights, scored by rollouts).

Results carry the hash of the config that made them; a workdir holding another config's run is
refused (or replaced with `overwrite=True`), never silently reused; files that no run wrote are
never touched (`hades.workdir`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

import checkpoints
from hades import config as config_lib
from hades import distill as distill_lib
from hades import memo
from hades import metrics_log as metrics_log_lib
from hades import methods
from hades import progress as progress_lib
from hades import sharding
from hades import files
from hades import workdir as workdir_lib
from hades.errors import ConfigError

RESUME_MODES = ("auto", "never", "must")


# Metrics written on every row even when not finite (they flag a problem).
ALWAYS_LOGGED = ("fitness/mean", "fitness/max", "fitness/min", "fitness/std", "fitness/best",
                 "fitness/nonfinite", "episodes/mean", "bc_loss/mean")


# The jitted generation programs of recent configs, for the next run in this process that needs
# the same program (a study's runs differ in their seed): {key: (step, {generations: run})}.
_PROGRAMS = memo.Memo(max_entries=8)


def _program_key(config: ml_collections.ConfigDict) -> list:
  """What a run's compiled generations depend on: the config without its seed (only the
  initial state uses it) and without the log/checkpoint/final_eval fields, and the devices."""
  fields = config.to_dict()
  fields.pop("seed")
  return ["distill_step", config_lib.config_hash(fields, config_lib.NON_RESULT_FIELDS
                                                 + ("final_eval.",)),
          [str(d) for d in jax.devices()]]


# Fault injection for the resume tests: "N" (SIGKILL) or "N:TERM" (SIGTERM) signals this
# process once generation N's metrics rows are written, before that host call's checkpoint.
SIGNAL_AFTER_ENV = "HADES_TEST_SIGNAL_AFTER_GENERATION"


def _signal_for_tests(previous: int, done: int) -> None:
  spec = os.environ.get(SIGNAL_AFTER_ENV)
  if not spec:
    return
  generation, _, name = spec.partition(":")
  if previous < int(generation) <= done:
    os.kill(os.getpid(), signal.SIGTERM if name == "TERM" else signal.SIGKILL)


class Interrupted(Exception):
  """The run was stopped by SIGTERM/SIGINT after saving a checkpoint."""


def distill(config: ml_collections.ConfigDict, workdir: str,
            log: Callable[[str], None] | None = None, resume: str = "auto",
            progress: progress_lib.Progress | None = None, overwrite: bool = False) -> dict:
  """Runs (or resumes) one task's distillation, writing into `workdir` (the task's directory).

  Args:
    config: a resolved config (`config.resolve_config`; an unresolved one is resolved here).
    log: where messages go (default: `progress.log`, else stderr).
    resume: 'auto' resumes from the workdir's checkpoint if there is one; 'never' refuses a
      workdir that has one; 'must' refuses a workdir that has none.
    progress: a `hades.progress` display (default: plain lines through `log`).
    overwrite: replace a run of another config in `workdir` instead of refusing (only the
      files that run wrote are deleted; a run of the same config is resumed, never deleted).

  Returns the summary dict. Raises Interrupted after saving a checkpoint on SIGTERM/SIGINT.
  """
  if progress is None:
    progress = progress_lib.PlainProgress(log)
  log = log or progress.log
  if resume not in RESUME_MODES:
    raise ConfigError(f"unknown resume mode {resume!r}; choose one of {RESUME_MODES}")
  config = config_lib.ensure_resolved(config)
  components = distill_lib.build(config)  # Validates everything before a file is written.
  os.makedirs(workdir, exist_ok=True)
  writer = jax.process_index() == 0  # Multi-host: only process 0 logs and writes files.
  if not writer:
    progress = progress_lib.PlainProgress(lambda s: None)
    log = progress.log
  with contextlib.ExitStack() as stack:
    if writer:
      stack.enter_context(checkpoints.WorkdirLock(workdir))
      workdir_lib.prepare(workdir, config, resume, overwrite)
    # The other processes restore only once process 0 has settled the workdir.
    sharding.sync_processes(f"hades_workdir_ready_{components.task}")
    return _Run(config, components, workdir, log, progress, writer).execute(resume)


class _StopFlag:
  """Turns SIGTERM/SIGINT into a flag checked between host calls (main thread only)."""

  def __init__(self):
    self.signal = None
    self._old = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._old[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    self.signal = signum

  def __exit__(self, *exc):
    for sig, handler in self._old.items():
      signal.signal(sig, handler)


def _to_storable(state: distill_lib.DistillState) -> distill_lib.DistillState:
  return state.replace(key=jax.random.key_data(state.key))


def _from_storable(state: distill_lib.DistillState) -> distill_lib.DistillState:
  return state.replace(key=jax.random.wrap_key_data(jnp.asarray(state.key)))


class _Run:
  """One execution of the host loop: restore -> open outputs -> generations -> results."""

  def __init__(self, config, components: distill_lib.Components, workdir: str, log, progress,
               writer: bool = True):
    self.config, self.components, self.workdir = config, components, workdir
    self.log, self.progress, self.writer = log, progress, writer
    self.task = components.task
    self.num_gens = config.es.num_generations
    self.hash = config_lib.config_hash(config)
    self.step, self.runs = _PROGRAMS.get(
        _program_key(config), lambda: (distill_lib.make_distill_step(components), {}))
    self.t_start = time.time()
    self.ckpt = checkpoints.RunCheckpointer(os.path.join(workdir, "checkpoints"),
                                            config.checkpoint.keep_latest,
                                            config.checkpoint.keep_best, log=log)
    self.metrics_log = None
    self.sec_per_generation = float("nan")  # Measured by run_generations, compile excluded.

  def execute(self, resume: str) -> dict:
    try:
      state, done = self.restore(resume)
      self.open_outputs(done)
      state = self.run_generations(state, done)
      summary = self.write_results(state)
    finally:
      self.ckpt.close()
      if self.metrics_log is not None:
        self.metrics_log.close()
    self.progress.end_task(self.task)
    took = progress_lib.format_duration(summary["wall_time"])
    self.log(f"[{self.task}] done in {took}: "
             f"{self.components.method.summary_line(summary)}")
    return summary

  def restore(self, resume: str) -> tuple[distill_lib.DistillState, int]:
    """The state to start from and its generation: the latest usable checkpoint, or a new
    state (ES mean at zero)."""
    state = distill_lib.init_state(self.components, self.config.seed)
    latest = self.ckpt.latest_step()
    if latest is not None and resume == "never":
      raise checkpoints.CheckpointError(
          f"{self.workdir} already holds a run of this config (checkpoint at generation "
          f"{latest}); resume it with --resume=auto or use another workdir (--overwrite "
          "replaces only a run of another config)")
    restored = None
    if resume != "never":
      replicated = sharding.replicated_sharding()
      abstract = jax.tree.map(
          lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated),
          jax.eval_shape(lambda: _to_storable(state)))
      # Only checkpoints whose generations metrics.jsonl holds: a row lost in a crash is
      # computed again rather than leaving the metrics behind the state.
      recorded = metrics_log_lib.recorded_generations(os.path.join(self.workdir,
                                                                   "metrics.jsonl"))
      restored = self.ckpt.restore(abstract, self._check_meta, log=self.log,
                                   max_step=recorded, prune=self.writer)
    if restored is None:
      if resume == "must":
        raise checkpoints.CheckpointError(f"--resume=must but {self.workdir} has no checkpoint")
      return state, 0
    done, stored, _ = restored
    if done > self.num_gens:
      raise checkpoints.CheckpointError(
          f"the checkpoint in {self.workdir} is at generation {done}, beyond the requested "
          f"{self.num_gens}")
    self.log(f"[{self.task}] resuming from the checkpoint at generation {done}/{self.num_gens}")
    # wall_time (metrics, summary) counts the time spent before the stop too, not the pause.
    self.t_start -= metrics_log_lib.wall_time_at(os.path.join(self.workdir, "metrics.jsonl"),
                                                 done)
    return distill_lib.canonicalize_state(self.components, _from_storable(stored)), done

  def _check_meta(self, meta: dict) -> None:
    diff = config_lib.config_differences(meta.get("config", {}), self.config.to_dict(),
                                         ignore=config_lib.RESUMABLE_CHANGES)
    if diff:
      raise checkpoints.CheckpointError(
          f"the checkpoint in {self.workdir} was made with a different config "
          f"({', '.join(diff)} differ) than its config.json says; use another workdir, or the "
          "checkpoint's config to resume it")

  def open_outputs(self, done: int) -> None:
    """config.json (this run's config, which a resume may have changed) and metrics.jsonl (cut
    back to `done`); process 0 only."""
    if not self.writer:
      return
    files.write_json(os.path.join(self.workdir, "config.json"), self.config.to_dict(),
                           sort_keys=True)
    self.metrics_log = metrics_log_lib.MetricsLog(self.workdir, self.task, self.config.log,
                                                  self.config.to_dict(), done)

  def _checkpoint_meta(self) -> dict:
    info = self.components.info
    as_list = lambda x: None if x is None else np.asarray(x).tolist()  # noqa: E731
    return {"config": self.config.to_dict(), "config_hash": self.hash, "task": self.task,
            "backend": info.backend, "normalization": info.normalization,
            "obs_mean": as_list(info.obs_mean), "obs_var": as_list(info.obs_var)}

  def run_generations(self, state, done: int):
    """Runs the remaining generations in host calls; checkpoints, metrics and progress."""
    config, components = self.config, self.components
    plan = distill_lib.plan_host_calls(done, self.num_gens, config.log.generations_per_call)
    for n in set(plan) - set(self.runs):
      self.runs[n] = distill_lib.make_distill_run(self.step, n)
    runs = self.runs
    what = components.method.describe(components)
    self.log(f"[{self.task}] {what} with {config.es.strategy} popsize "
             f"{config.es.population_size}, {self.num_gens} generations, "
             f"{components.env_steps_per_generation} {components.step_unit}/generation, on "
             f"{jax.device_count()} {jax.devices()[0].platform} device(s)")
    if jax.process_count() > 1:
      for run in runs.values():
        run.lower(state).compile()
      sharding.sync_processes(f"hades_distill_compiled_{self.task}")
    meta = self._checkpoint_meta()
    every = max(1, config.checkpoint.every_generations)
    timed_gens, timed_seconds, compiled = 0, 0.0, set()
    self.progress.start_task(self.task, self.num_gens, done)
    with _StopFlag() as stop:
      for chunk in plan:
        t0 = time.time()
        state, metrics = runs[chunk](state)
        metrics = jax.device_get(metrics)
        dt = time.time() - t0
        if chunk in compiled:  # A first call includes compilation.
          timed_gens, timed_seconds = timed_gens + chunk, timed_seconds + dt
        compiled.add(chunk)
        if np.any(metrics["fitness/nonfinite"] == config.es.population_size):
          raise FloatingPointError(
              f"[{self.task}] every candidate of a generation after {done} has a non-finite "
              f"fitness; stopping with the checkpoint at generation "
              f"{self.ckpt.latest_step() or 0} kept (lower the ES learning rate / sigma or the "
              "BC learning rate)")
        rows = self._rows(metrics, done, chunk, dt)
        if self.metrics_log is not None:
          self.metrics_log.write(rows)
        previous, done = done, done + chunk
        _signal_for_tests(previous, done)
        if done // every > previous // every or done == self.num_gens or stop.signal:
          self.ckpt.save(done, _to_storable(state), meta,
                         {"fitness/best": rows[-1]["fitness/best"]})
        sec_per_gen = timed_seconds / timed_gens if timed_gens else dt / chunk
        last = rows[-1]
        self.progress.update(progress_lib.GenerationStats(
            self.task, done, self.num_gens, last["fitness/mean"], last["fitness/max"],
            last["fitness/best"], last["env_steps_per_s"], dt / chunk,
            (self.num_gens - done) * sec_per_gen, last.get("validation/best_return", float("nan")),
            last.get("validation/best_generation", 0), components.step_unit))
        if stop.signal and done < self.num_gens:
          raise Interrupted(f"[{self.task}] stopped by signal {stop.signal} at generation "
                            f"{done}; checkpoint saved, run the same command again to resume")
    if timed_gens:
      self.sec_per_generation = timed_seconds / timed_gens
    return state

  def _rows(self, metrics: dict, done: int, chunk: int, dt: float) -> list[dict]:
    """One metrics row per generation of a host call."""
    rows = []
    for i in range(chunk):
      row = {"generation": done + i + 1}
      # Optional entries (validation/return between validations, es/sigma of strategies
      # without one) are left out rather than written as NaN.
      row.update({k: float(v[i]) for k, v in metrics.items()
                  if k in ALWAYS_LOGGED or np.isfinite(v[i])})
      if "validation/best_generation" in row:
        row["validation/best_generation"] = int(row["validation/best_generation"])
      row["env_steps_per_s"] = self.components.env_steps_per_generation / (dt / chunk)
      row["wall_time"] = time.time() - self.t_start
      rows.append(row)
    return rows

  def write_results(self, state) -> dict:
    """The run's result file (the method's) and summary.json (with timing and config hash)."""
    components = self.components
    outcome = methods.Outcome(
        final=distill_lib.mean_dataset(components, state),
        validated=distill_lib.validated_dataset(components, state),
        best=distill_lib.best_dataset(components, state),
        start=distill_lib.zero_dataset(components), selection=self._selection(state))
    summary = components.method.write_results(components, outcome,
                                              self.workdir if self.writer else None, self.hash)
    if not np.isfinite(summary["return_mean"]):
      raise FloatingPointError(
          f"[{self.task}] the result's fresh students score {summary['return_mean']} (not "
          f"finite); {components.method.result_file} is written, summary.json is not (lower the "
          "BC learning rate or check final_eval)")
    summary.update(generations=self.num_gens, config_hash=self.hash,
                   wall_time=time.time() - self.t_start,
                   sec_per_generation=self.sec_per_generation,
                   env_steps_per_generation=components.env_steps_per_generation)
    if self.writer:
      files.write_json(os.path.join(self.workdir, "summary.json"), summary)
      self.metrics_log.log_summary(summary)
    return summary

  def _selection(self, state) -> dict:
    """How the result was chosen: the best-validated ES mean, else the final mean."""
    vstate = jax.device_get(state.validation)
    if int(vstate.best_generation) == 0:
      return {"selected": "final ES mean (validation off)"}
    return {"selected": "best-validated ES mean",
            "validation_generation": int(vstate.best_generation),
            "validation_return": float(vstate.best_return),
            "validation_score": float(vstate.best_score),
            "validation_std_penalty": self.components.validation.std_penalty,
            "validation_students": self.components.validation.num_students}
