"""The HaDES outer loop: evolve a dataset with an evosax strategy.

`make_distill_step` builds one generation (ask -> BC-train students -> evaluate -> tell) as a pure
function; `make_distill_run` scans it over several generations in one jitted call; `distill` is the
host loop that writes a task's outputs (dataset.npz, config.json, metrics.jsonl, summary.json).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import signal
import threading
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import struct

import checkpoints
from hades import bc
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import metrics_log as metrics_log_lib
from hades import policy as policy_lib
from hades import progress as progress_lib
from hades import rollout
from hades import tasks


class ConfigError(ValueError):
  """A configuration value is invalid."""


# ---------------------------------------------------------------------------------------------
# Strategy


def make_strategy(es_config, template: dataset_lib.SyntheticDataset):
  """Builds an evosax distribution-based strategy by name; returns (strategy, params).

  Args:
    es_config: `config.es` (strategy, population_size, sigma, learning_rate, antithetic).
    template: a dataset with the evolved shapes (states [D, obs], actions [D, act]).
  """
  # Imported here: evosax creates arrays at import time, which starts the XLA backend, and
  # launchers must be able to call jax.distributed.initialize() after importing this module.
  import evosax.algorithms

  name = es_config.strategy
  registry = evosax.algorithms.distribution_based_algorithms
  if name not in registry:
    population_based = name in evosax.algorithms.population_based_algorithms
    hint = " (population-based strategies are not supported)" if population_based else ""
    raise ConfigError(f"unknown ES strategy {name!r}{hint}; choose one of "
                      f"{', '.join(sorted(registry))}")
  cls = registry[name]
  popsize = es_config.population_size
  if popsize < 1:
    raise ConfigError(f"population size must be >= 1, got {popsize}")
  accepted = inspect.signature(cls.__init__).parameters
  antithetic = es_config.antithetic and "use_antithetic_sampling" in accepted
  needs_even = antithetic or name in ("PGPE", "ARS", "ESMC", "GuidedES", "ASEBO")
  if needs_even and popsize % 2:
    raise ConfigError(f"population size must be even for antithetic sampling ({name}), "
                      f"got {popsize}")
  kwargs = {}
  if "optimizer" in accepted:
    kwargs["optimizer"] = optax.adam(es_config.learning_rate)
  if "std_schedule" in accepted:
    kwargs["std_schedule"] = optax.constant_schedule(es_config.sigma)
  if "use_antithetic_sampling" in accepted:
    kwargs["use_antithetic_sampling"] = bool(es_config.antithetic)
  strategy = cls(popsize, template, **kwargs)
  params = strategy.default_params
  if hasattr(params, "std_init"):
    params = params.replace(std_init=jnp.asarray(es_config.sigma, jnp.float32))
  return strategy, params


# ---------------------------------------------------------------------------------------------
# Components


@dataclasses.dataclass
class Components:
  """Everything a run needs, built once from a config (see `build`)."""

  task: str
  obs_size: int
  act_size: int
  env: object
  policy: policy_lib.GaussianMLP
  init_params: Callable
  bc_train: Callable
  evaluate: Callable
  population_fitness: Callable
  strategy: object
  es_params: object
  info: dataset_lib.DatasetInfo
  env_steps_per_generation: int


def _obs_stats(config, task: str, obs_size: int):
  if config.dataset.normalization != "constant":
    return None, None
  path = config.dataset.obs_stats
  if not path:
    raise ConfigError("constant normalization needs config.dataset.obs_stats: an .npz with "
                      "obs_mean and obs_var (e.g. one of the paper's D4 dataset files)")
  try:
    with np.load(path, allow_pickle=False) as f:
      mean, var = np.asarray(f["obs_mean"], np.float32), np.asarray(f["obs_var"], np.float32)
  except (OSError, KeyError, ValueError) as e:
    raise ConfigError(f"cannot read obs_mean/obs_var from {path}: {e}") from None
  if mean.shape != (obs_size,) or var.shape != (obs_size,):
    raise ConfigError(f"obs stats in {path} have shape {mean.shape}, task {task} needs "
                      f"({obs_size},)")
  return mean, var


def resolve_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Validates a config and fills task-dependent values (task name, bc_steps, per-task overrides).

  Returns a new, locked ConfigDict; raises ConfigError / ValueError with a clear message.
  """
  config = ml_collections.ConfigDict(config.to_dict())
  config.task = tasks.resolve_task(config.task)
  overrides = config.get("task_overrides", {}).get(config.task, None)
  if overrides:
    config.update_from_flattened_dict(dict(_flatten(overrides.to_dict())))
  if config.student.bc_steps <= 0:
    config.student.bc_steps = tasks.get_task(config.task).bc_steps
  config.hades.mode = fitness_lib.resolve_mode(config.hades.mode)
  if config.hades.mode == "fixed" and config.hades.num_students != 1:
    config.hades.num_students = 1  # HaDES-F trains the one fixed student.
  tasks.check_backend(config.env.backend)
  if config.dataset.size < 1:
    raise ConfigError(f"dataset size must be >= 1, got {config.dataset.size}")
  if config.dataset.normalization not in dataset_lib.NORMALIZATIONS:
    raise ConfigError(f"unknown normalization {config.dataset.normalization!r}; choose one of "
                      f"{dataset_lib.NORMALIZATIONS}")
  if config.es.num_generations < 1:
    raise ConfigError(f"num_generations must be >= 1, got {config.es.num_generations}")
  for key in ("num_envs", "num_steps"):
    if config.eval[key] < 1:
      raise ConfigError(f"eval.{key} must be >= 1, got {config.eval[key]}")
  config.lock()
  return config


def _flatten(d, prefix=""):
  """Yields ('a.b.c', value) for every leaf of a nested dict."""
  for k, v in d.items():
    if isinstance(v, dict):
      yield from _flatten(v, f"{prefix}{k}.")
    else:
      yield f"{prefix}{k}", v


def config_differences(saved: dict, requested: dict, ignore: tuple[str, ...] = ()) -> list[str]:
  """Flattened keys whose values differ between two nested config dicts, except those starting
  with one of the `ignore` prefixes."""
  a, b = dict(_flatten(saved)), dict(_flatten(requested))
  return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and not k.startswith(ignore))


def build(config: ml_collections.ConfigDict) -> Components:
  """Builds env, student, BC, evaluation, fitness and strategy from a resolved config."""
  task = config.task
  env = tasks.make_env(task, config.env.backend, config.env.episode_length)
  obs_size, act_size = int(env.observation_size), int(env.action_size)
  student = config.student
  policy = policy_lib.make_policy(act_size, student.width, student.depth, student.activation,
                                  student.kernel_init)
  init_params = policy_lib.make_init_params(policy, obs_size)
  bc_train = bc.make_bc_train(policy, student.bc_steps, student.learning_rate,
                              student.max_grad_norm)
  obs_mean, obs_var = _obs_stats(config, task, obs_size)
  evaluate = rollout.make_evaluate(env, policy, config.eval.num_envs, config.eval.num_steps,
                                   config.dataset.normalization, obs_mean, obs_var)
  population_fitness = fitness_lib.make_population_fitness(
      init_params, bc_train, evaluate, config.hades.mode, config.hades.num_students)
  template = dataset_lib.zeros(config.dataset.size, obs_size, act_size)
  strategy, es_params = make_strategy(config.es, template)
  check_population_divides(config.es.population_size, make_mesh())
  info = dataset_lib.DatasetInfo(task, config.env.backend, config.dataset.normalization,
                                 obs_mean, obs_var)
  steps = (config.es.population_size * config.hades.num_students * config.eval.num_envs
           * config.eval.num_steps)
  return Components(task, obs_size, act_size, env, policy, init_params, bc_train, evaluate,
                    population_fitness, strategy, es_params, info, steps)


# ---------------------------------------------------------------------------------------------
# Generation step


@struct.dataclass
class DistillState:
  """Full state of a distillation.

  Attributes:
    es_state: evosax strategy state (mean [num_dims], optimiser moments, best, ...).
    key: PRNG key for the next generation.
    generation: [] number of generations done.
    fixed_params: HaDES-F student params with a leading [1] axis (HaDES-R: unused copy).
  """

  es_state: object
  key: jax.Array
  generation: jax.Array
  fixed_params: object


def init_state(components: Components, seed: int) -> DistillState:
  """ES mean at zero (the paper's init), fixed student drawn from the seed.

  Built inside one jit whose output is replicated over the mesh, so that with several
  processes every one holds the same global state without host-side transfers.
  """

  def make():
    key = jax.random.key(seed)
    key, es_key, fixed_key = jax.random.split(key, 3)
    template = components.strategy.solution  # The all-zero dataset.
    es_state = components.strategy.init(es_key, template, components.es_params)
    # evosax marks "no best solution yet" with NaNs (best_fitness=inf already says so); keep
    # the state NaN-free so that states compare equal (tests, processes).
    es_state = jax.tree.map(
        lambda x: jnp.where(jnp.isnan(x), 0.0, x).astype(x.dtype)
        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, es_state)
    fixed_params = components.init_params(fixed_key[None])
    return DistillState(es_state, key, jnp.asarray(0, jnp.int32), fixed_params)

  return canonicalize_state(make_distill_step(components), make)


def canonicalize_state(step, state) -> DistillState:
  """Casts every leaf of `state` (or of `state()` if callable) to the exact type `step` returns
  for it, placed replicated over the mesh as the jitted run returns it.

  evosax's init leaves Python scalars / weakly typed values (e.g. best_fitness=inf) that its
  tell turns into strongly typed arrays; without this, the jitted run would re-trace on its
  second call.
  """
  out_shapes, _ = jax.eval_shape(step, jax.eval_shape(state) if callable(state) else state)
  replicated = replicated_sharding()

  def cast(x, spec):
    if jax.dtypes.issubdtype(spec.dtype, jax.dtypes.prng_key):
      return x
    return jnp.asarray(x, dtype=spec.dtype)

  if callable(state):
    return jax.jit(lambda: jax.tree.map(cast, state(), out_shapes), out_shardings=replicated)()
  return jax.jit(lambda s: jax.tree.map(cast, s, out_shapes), out_shardings=replicated)(state)


POPULATION_AXIS = "population"


def make_mesh(devices=None) -> jax.sharding.Mesh:
  """A 1-D mesh over all devices of all processes; the population axis is split over it."""
  devices = np.asarray(jax.devices() if devices is None else devices)
  return jax.sharding.Mesh(devices.reshape(-1), (POPULATION_AXIS,))


def replicated_sharding(mesh: jax.sharding.Mesh | None = None) -> jax.sharding.NamedSharding:
  """Every device holds the whole array (the ES state, metrics)."""
  return jax.sharding.NamedSharding(make_mesh() if mesh is None else mesh,
                                    jax.sharding.PartitionSpec())


def check_population_divides(population_size: int, mesh: jax.sharding.Mesh) -> None:
  if population_size % mesh.size:
    raise ConfigError(f"population size {population_size} is not divisible by the "
                      f"{mesh.size} devices; use a multiple of {mesh.size}")


def make_distill_step(components: Components, mesh: jax.sharding.Mesh | None = None):
  """Returns step(state) -> (state, metrics): one generation, pure and jittable.

  The candidates (and all their BC training and evaluation) are split over `mesh` (default:
  all devices) along the population axis; the ES state stays replicated. With one device this
  is the plain computation: one code path for 1 or N devices.

  metrics is a dict of scalars: fitness/{mean,max,min,std} over finite candidates,
  fitness/best (best candidate so far), fitness/nonfinite (count), episodes/mean, bc_loss/mean.
  """
  strategy, es_params = components.strategy, components.es_params
  popsize = strategy.population_size
  mesh = make_mesh() if mesh is None else mesh
  check_population_divides(popsize, mesh)
  by_candidate = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(POPULATION_AXIS))

  def step(state: DistillState):
    key, ask_key, fitness_key, tell_key = jax.random.split(state.key, 4)
    population, es_state = strategy.ask(ask_key, state.es_state, es_params)
    population = jax.lax.with_sharding_constraint(population, by_candidate)
    fitness, aux = components.population_fitness(population, fitness_key, state.fixed_params)
    fitness = jax.lax.with_sharding_constraint(fitness, by_candidate)
    finite = jnp.isfinite(fitness)
    # evosax minimises; non-finite candidates rank worst (a huge loss) and never poison the ES.
    loss = jnp.where(finite, -fitness, jnp.finfo(jnp.float32).max)
    es_state, _ = strategy.tell(tell_key, population, loss, es_state, es_params)
    n_finite = jnp.maximum(jnp.sum(finite), 1)
    safe = jnp.where(finite, fitness, 0.0)
    mean = jnp.sum(safe) / n_finite
    metrics = {
        "fitness/mean": mean,
        "fitness/max": jnp.max(jnp.where(finite, fitness, -jnp.inf)),
        "fitness/min": jnp.min(jnp.where(finite, fitness, jnp.inf)),
        "fitness/std": jnp.sqrt(jnp.sum(jnp.where(finite, (fitness - mean) ** 2, 0.0)) / n_finite),
        "fitness/best": -es_state.best_fitness,
        "fitness/nonfinite": popsize - jnp.sum(finite),
        "episodes/mean": jnp.mean(aux.episodes),
        "bc_loss/mean": jnp.mean(jnp.where(finite, aux.bc_loss, 0.0)),
    }
    # Strong dtypes throughout (evosax leaves some weakly typed), so the state's type is a
    # fixed point of `step` and the jitted run is traced once.
    es_state = jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.result_type(x)), es_state)
    return DistillState(es_state, key, state.generation + 1, state.fixed_params), metrics

  return step


def sync_processes(name: str, timeout_s: int = 3600) -> None:
  """Waits until every process reaches this point (no-op with one process).

  Processes compile at different speeds; CPU collectives (gloo) give up if their peers arrive
  more than ~30 s apart, so multi-process runs meet here after compiling.
  """
  if jax.process_count() > 1:
    from jax._src import distributed  # The runtime's own key-value barrier.

    distributed.global_state.client.wait_at_barrier(name, timeout_s * 1000)


def make_distill_run(step, num_generations: int, mesh: jax.sharding.Mesh | None = None):
  """Returns a jitted run(state) -> (state, metrics [num_generations]) that scans `step`.

  State and metrics are replicated over `mesh` (default: all devices); the input state's
  buffers are donated, so the ES state is updated in place on device.
  """
  replicated = replicated_sharding(mesh)

  def run(state):
    return jax.lax.scan(lambda s, _: step(s), state, None, length=num_generations)

  return jax.jit(run, in_shardings=replicated, out_shardings=replicated, donate_argnums=0)


def chunk_size(num_generations: int, requested: int) -> int:
  """Largest divisor of num_generations <= requested, so every host call has one shape."""
  requested = max(1, min(requested, num_generations))
  return max(d for d in range(1, requested + 1) if num_generations % d == 0)


def mean_dataset(components: Components, state: DistillState) -> dataset_lib.SyntheticDataset:
  """The ES mean as a dataset (the distilled result)."""
  return components.strategy.get_mean(state.es_state)


# ---------------------------------------------------------------------------------------------
# Host loop


def evaluate_final(components: Components, datasets: dict, seed: int, num_students: int,
                   num_envs: int, num_steps: int) -> dict:
  """Trains `num_students` fresh students on each named dataset; returns {name: summary}.

  All datasets must have the same shapes: they share one compiled evaluation, students and keys.
  """
  evaluate = rollout.make_evaluate(components.env, components.policy, num_envs, num_steps,
                                   components.info.normalization, components.info.obs_mean,
                                   components.info.obs_var)
  eval_fn = jax.jit(fitness_lib.make_dataset_eval(components.init_params, components.bc_train,
                                                  evaluate, num_students))
  out = {}
  for name, dataset in datasets.items():
    results, loss = jax.device_get(eval_fn(dataset, jax.random.key(seed)))
    out[name] = fitness_lib.summarize(results)
    out[name]["bc_loss"] = float(np.mean(loss))
  return out


class Interrupted(Exception):
  """The run was stopped by SIGTERM/SIGINT after saving a checkpoint."""


RESUME_MODES = ("auto", "never", "must")
# Config fields that may change when a run is resumed.
RESUMABLE_CHANGES = ("es.num_generations", "log.", "final_eval.", "checkpoint.")


def _to_storable(state: DistillState) -> DistillState:
  return state.replace(key=jax.random.key_data(state.key))


def _from_storable(state: DistillState) -> DistillState:
  return state.replace(key=jax.random.wrap_key_data(jnp.asarray(state.key)))


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


def distill(config: ml_collections.ConfigDict, workdir: str, log: Callable[[str], None] = None,
            resume: str = "auto", progress=None):
  """Runs (or resumes) one task's distillation, writing into `workdir` (the task's directory).

  Writes config.json (resolved config), metrics.jsonl (one line per generation; TensorBoard and
  wandb too when enabled in config.log), checkpoints/ (orbax, every
  `checkpoint.every_generations`, on SIGTERM/SIGINT and at the end), and at the end dataset.npz
  (ES mean) and summary.json (fresh-student evaluation of it).

  Args:
    log: where messages go (default: `progress.log`, else stderr).
    resume: 'auto' resumes from the workdir's checkpoint if there is one; 'never' refuses a
      workdir that has one; 'must' refuses a workdir that has none.
    progress: a `hades.progress` display (default: plain lines through `log`).

  Returns the summary dict. Raises Interrupted after saving a checkpoint on SIGTERM/SIGINT.
  """
  if progress is None:
    progress = progress_lib.PlainProgress(log)
  log = log or progress.log
  if resume not in RESUME_MODES:
    raise ConfigError(f"unknown resume mode {resume!r}; choose one of {RESUME_MODES}")
  config = resolve_config(config)
  components = build(config)  # Validates everything before a file is written.
  os.makedirs(workdir, exist_ok=True)
  if jax.process_index() != 0:  # Multi-host: only process 0 logs and writes files.
    silent = progress_lib.PlainProgress(lambda s: None)
    return _distill_locked(config, components, workdir, silent.log, resume, silent,
                           writer=False)
  with checkpoints.WorkdirLock(workdir):
    return _distill_locked(config, components, workdir, log, resume, progress)


def _distill_locked(config, components: Components, workdir: str, log, resume: str, progress,
                    writer: bool = True):
  t_start = time.time()
  task = components.task
  ckpt = checkpoints.RunCheckpointer(os.path.join(workdir, "checkpoints"),
                                     config.checkpoint.keep_latest, config.checkpoint.keep_best)
  state = init_state(components, config.seed)
  num_gens = config.es.num_generations
  done = 0
  if ckpt.latest_step() is not None and resume == "never":
    raise checkpoints.CheckpointError(
        f"{workdir} already holds a run (checkpoint at generation {ckpt.latest_step()}); "
        "resume it with --resume=auto or use another workdir")

  def check_meta(meta):
    diff = config_differences(meta.get("config", {}), config.to_dict(),
                              ignore=RESUMABLE_CHANGES)
    if diff:
      raise checkpoints.CheckpointError(
          f"the checkpoint in {workdir} was made with a different config ({', '.join(diff)} "
          "differ); use another workdir, or the same config to resume")

  restored = None
  if resume != "never":
    replicated = replicated_sharding()
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated),
        jax.eval_shape(lambda: _to_storable(state)))
    restored = ckpt.restore(abstract, check_meta, log=log)
  if restored is None and resume == "must":
    raise checkpoints.CheckpointError(f"--resume=must but {workdir} has no checkpoint")
  if restored is not None:
    done, stored, _ = restored
    if done > num_gens:
      raise checkpoints.CheckpointError(
          f"the checkpoint in {workdir} is at generation {done}, beyond the requested {num_gens}")
    state = canonicalize_state(make_distill_step(components), _from_storable(stored))
    log(f"[{task}] resuming from the checkpoint at generation {done}/{num_gens}")
  metrics_log = None
  if writer:
    metrics_log = metrics_log_lib.MetricsLog(workdir, task, config.log, config.to_dict(), done)
    with open(os.path.join(workdir, "config.json"), "w") as f:
      json.dump(config.to_dict(), f, indent=2, sort_keys=True)

  chunk = chunk_size(num_gens, config.log.generations_per_call)
  run = make_distill_run(make_distill_step(components), chunk)
  steps_per_gen = components.env_steps_per_generation
  meta = {"config": config.to_dict(), "task": task, "backend": config.env.backend,
          "normalization": config.dataset.normalization,
          "obs_mean": None if components.info.obs_mean is None
                      else np.asarray(components.info.obs_mean).tolist(),
          "obs_var": None if components.info.obs_var is None
                     else np.asarray(components.info.obs_var).tolist()}
  log(f"[{task}] distilling D={config.dataset.size} (obs {components.obs_size}, "
      f"act {components.act_size}) with {config.es.strategy} popsize "
      f"{config.es.population_size}, HaDES-{config.hades.mode[0].upper()} x"
      f"{config.hades.num_students} students, {num_gens} generations, "
      f"{steps_per_gen} env steps/generation")

  if jax.process_count() > 1:
    run.lower(state).compile()
    sync_processes("hades_distill_compiled")
  every = max(1, config.checkpoint.every_generations)
  timed_gens, timed_seconds, first_call = 0, 0.0, True
  progress.start_task(task, num_gens, done)
  try:
    with _StopFlag() as stop:
      while done < num_gens:
        t0 = time.time()
        state, metrics = run(state)
        metrics = jax.device_get(metrics)
        dt = time.time() - t0
        if not first_call:  # The first call includes compilation.
          timed_gens, timed_seconds = timed_gens + chunk, timed_seconds + dt
        first_call = False
        sec_per_gen = timed_seconds / timed_gens if timed_gens else dt / chunk
        if np.any(metrics["fitness/nonfinite"] == config.es.population_size):
          raise FloatingPointError(
              f"[{task}] every candidate of a generation after {done} has a non-finite "
              f"fitness; stopping with the checkpoint at generation {ckpt.latest_step() or 0} "
              "kept (lower the ES learning rate / sigma or the BC learning rate)")
        rows = []
        for i in range(chunk):
          row = {"generation": done + i + 1}
          row.update({k: float(v[i]) for k, v in metrics.items()})
          row["env_steps_per_s"] = steps_per_gen / (dt / chunk)
          row["wall_time"] = time.time() - t_start
          rows.append(row)
        if metrics_log is not None:
          metrics_log.write(rows)
        previous, done = done, done + chunk
        last = rows[-1]
        if done // every > previous // every or done == num_gens or stop.signal:
          ckpt.save(done, _to_storable(state), meta, {"fitness/best": last["fitness/best"]})
        progress.update(progress_lib.GenerationStats(
            task, done, num_gens, last["fitness/mean"], last["fitness/max"],
            last["fitness/best"], last["env_steps_per_s"], dt / chunk,
            (num_gens - done) * sec_per_gen))
        if stop.signal and done < num_gens:
          raise Interrupted(f"[{task}] stopped by signal {stop.signal} at generation {done}; "
                            "checkpoint saved, run the same command again to resume")
    dataset = mean_dataset(components, state)
    best = components.strategy._unravel_solution(state.es_state.best_solution)
    if writer:
      dataset_lib.save(os.path.join(workdir, "dataset.npz"), dataset,
                       dataclasses.replace(components.info, source=os.path.abspath(workdir)),
                       best_states=best.states, best_actions=best.actions,
                       generations=np.asarray(num_gens))
    final = config.final_eval
    zero = dataset_lib.zeros(config.dataset.size, components.obs_size, components.act_size)
    scores = evaluate_final(components, {"distilled": dataset, "zero": zero}, config.seed + 1,
                            final.num_students, final.num_envs or config.eval.num_envs,
                            final.num_steps)
    summary = scores["distilled"]
    summary["zero_dataset_return"] = scores["zero"]["return_mean"]
    summary.update(task=task, generations=num_gens, wall_time=time.time() - t_start,
                   sec_per_generation=timed_seconds / timed_gens if timed_gens else float("nan"))
    if writer:
      with open(os.path.join(workdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
      metrics_log.log_summary(summary)
  finally:
    ckpt.close()
    if metrics_log is not None:
      metrics_log.close()
  progress.end_task(task)
  log(f"[{task}] done in {progress_lib.format_duration(summary['wall_time'])}: distilled "
      f"dataset trains fresh students to {summary['return_mean']:.1f} +- "
      f"{summary['return_std']:.1f} (over {final.num_students} students); the all-zero "
      f"dataset gives {summary['zero_dataset_return']:.1f}")
  return summary


def is_finished(workdir: str, config: ml_collections.ConfigDict) -> bool:
  """True when `workdir` holds a completed run of `config` (summary written after the end)."""
  path = os.path.join(workdir, "summary.json")
  if not os.path.exists(path):
    return False
  try:
    with open(path) as f:
      return json.load(f).get("generations") == resolve_config(config).es.num_generations
  except (OSError, json.JSONDecodeError):
    return False
