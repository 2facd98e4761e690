"""The HaDES outer loop: evolve a dataset with an evosax strategy.

`make_distill_step` builds one generation (ask -> BC-train students -> evaluate -> tell) as a pure
function; `make_distill_run` scans it over several generations in one jitted call; `distill` is the
host loop that writes a task's outputs (dataset.npz, config.json, metrics.jsonl, summary.json).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable

import evosax.algorithms
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import struct

from hades import bc
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import policy as policy_lib
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
  for k, v in d.items():
    if isinstance(v, dict):
      yield from _flatten(v, f"{prefix}{k}.")
    else:
      yield f"{prefix}{k}", v


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
  """ES mean at zero (the paper's init), fixed student drawn from the seed."""
  key = jax.random.key(seed)
  key, es_key, fixed_key = jax.random.split(key, 3)
  template = components.strategy.solution  # The all-zero dataset.
  es_state = components.strategy.init(es_key, template, components.es_params)
  fixed_params = jax.jit(components.init_params)(fixed_key[None])
  state = DistillState(es_state, key, jnp.asarray(0, jnp.int32), fixed_params)
  return canonicalize_state(make_distill_step(components), state)


def canonicalize_state(step, state: DistillState) -> DistillState:
  """Casts every leaf of `state` to the exact type `step` returns for it.

  evosax's init leaves Python scalars / weakly typed values (e.g. best_fitness=inf) that its
  tell turns into strongly typed arrays; without this, the jitted run would re-trace on its
  second call.
  """
  out_shapes, _ = jax.eval_shape(step, state)

  def cast(x, spec):
    if jax.dtypes.issubdtype(spec.dtype, jax.dtypes.prng_key):
      return x
    if spec.weak_type:
      return jnp.asarray(x)
    return jnp.array(x, dtype=spec.dtype)

  return jax.tree.map(cast, state, out_shapes)


def make_distill_step(components: Components):
  """Returns step(state) -> (state, metrics): one generation, pure and jittable.

  metrics is a dict of scalars: fitness/{mean,max,min,std} over finite candidates,
  fitness/best (best candidate so far), fitness/nonfinite (count), episodes/mean, bc_loss/mean.
  """
  strategy, es_params = components.strategy, components.es_params
  popsize = strategy.population_size

  def step(state: DistillState):
    key, ask_key, fitness_key, tell_key = jax.random.split(state.key, 4)
    population, es_state = strategy.ask(ask_key, state.es_state, es_params)
    fitness, aux = components.population_fitness(population, fitness_key, state.fixed_params)
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
    return DistillState(es_state, key, state.generation + 1, state.fixed_params), metrics

  return step


def make_distill_run(step, num_generations: int):
  """Returns a jitted run(state) -> (state, metrics [num_generations]) that scans `step`.

  The input state's buffers are donated: the ES state is updated in place on device.
  """

  def run(state):
    return jax.lax.scan(lambda s, _: step(s), state, None, length=num_generations)

  return jax.jit(run, donate_argnums=0)


def chunk_size(num_generations: int, requested: int) -> int:
  """Largest divisor of num_generations <= requested, so every host call has one shape."""
  requested = max(1, min(requested, num_generations))
  return max(d for d in range(1, requested + 1) if num_generations % d == 0)


def mean_dataset(components: Components, state: DistillState) -> dataset_lib.SyntheticDataset:
  """The ES mean as a dataset (the distilled result)."""
  return components.strategy.get_mean(state.es_state)


# ---------------------------------------------------------------------------------------------
# Host loop


def _fmt_time(seconds: float) -> str:
  if not math.isfinite(seconds):
    return "?"
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _fmt_rate(x: float) -> str:
  return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k"


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


def distill(config: ml_collections.ConfigDict, workdir: str, log: Callable[[str], None] = None):
  """Runs one task's distillation, writing into `workdir` (the task's own directory).

  Writes config.json (resolved config) at start, metrics.jsonl (one line per generation),
  and at the end dataset.npz (ES mean) and summary.json (fresh-student evaluation of it).
  Returns the summary dict.
  """
  log = log or (lambda s: print(s, file=sys.stderr, flush=True))
  config = resolve_config(config)
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)

  t_start = time.time()
  components = build(config)
  state = init_state(components, config.seed)
  num_gens = config.es.num_generations
  chunk = chunk_size(num_gens, config.log.generations_per_call)
  run = make_distill_run(make_distill_step(components), chunk)
  steps_per_gen = components.env_steps_per_generation
  log(f"[{components.task}] distilling D={config.dataset.size} (obs {components.obs_size}, "
      f"act {components.act_size}) with {config.es.strategy} popsize "
      f"{config.es.population_size}, HaDES-{config.hades.mode[0].upper()} x"
      f"{config.hades.num_students} students, {num_gens} generations, "
      f"{steps_per_gen} env steps/generation")

  metrics_path = os.path.join(workdir, "metrics.jsonl")
  timed_gens, timed_seconds = 0, 0.0
  with open(metrics_path, "w") as metrics_file:
    done = 0
    while done < num_gens:
      t0 = time.time()
      state, metrics = run(state)
      metrics = jax.device_get(metrics)
      dt = time.time() - t0
      if done > 0:  # The first call includes compilation.
        timed_gens, timed_seconds = timed_gens + chunk, timed_seconds + dt
      sec_per_gen = timed_seconds / timed_gens if timed_gens else dt / chunk
      for i in range(chunk):
        row = {"generation": done + i + 1}
        row.update({k: float(v[i]) for k, v in metrics.items()})
        row["env_steps_per_s"] = steps_per_gen / (dt / chunk)
        row["wall_time"] = time.time() - t_start
        metrics_file.write(json.dumps(row) + "\n")
      metrics_file.flush()
      done += chunk
      if np.all(metrics["fitness/nonfinite"] == config.es.population_size):
        raise FloatingPointError(
            f"[{components.task}] every candidate of generation {done} has a non-finite "
            "fitness; stopping (lower the ES learning rate / sigma or the BC learning rate)")
      last = {k: float(v[-1]) for k, v in metrics.items()}
      eta = (num_gens - done) * sec_per_gen
      log(f"[{components.task}] gen {done}/{num_gens} | fitness mean {last['fitness/mean']:.1f} "
          f"max {last['fitness/max']:.1f} | best {last['fitness/best']:.1f} | "
          f"{_fmt_rate(steps_per_gen / (dt / chunk))} env-steps/s | "
          f"{dt / chunk:.2f} s/gen | ETA {_fmt_time(eta)}")

  dataset = mean_dataset(components, state)
  best = components.strategy._unravel_solution(state.es_state.best_solution)
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
  summary.update(task=components.task, generations=num_gens,
                 wall_time=time.time() - t_start,
                 sec_per_generation=timed_seconds / timed_gens if timed_gens else float("nan"))
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  log(f"[{components.task}] done in {_fmt_time(summary['wall_time'])}: distilled dataset "
      f"trains fresh students to {summary['return_mean']:.1f} +- {summary['return_std']:.1f} "
      f"({summary['episodes']} episodes); the all-zero dataset gives "
      f"{summary['zero_dataset_return']:.1f}")
  return summary
