"""The HaDES generation step: ask -> BC-train students -> evaluate -> tell, pure and jittable.

`build` turns a resolved config into the `Components` a run needs; `make_distill_step` is one
generation; `make_distill_run` scans it over several generations in one jitted, donated call.
The resumable host loop that writes a task's files is `hades.runner`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import ml_collections
from flax import struct
from jax import flatten_util

from hades import config as config_lib
from hades import dataset as dataset_lib
from hades import fitness as fitness_lib
from hades import methods
from hades import policy as policy_lib
from hades import sharding
from hades import strategy as strategy_lib
from hades import student as student_lib
from hades import tasks
from hades import types
from hades import validation as validation_lib
from hades.families import base as families_base

if TYPE_CHECKING:
  from evosax.algorithms.distribution_based.base import DistributionBasedAlgorithm


@dataclasses.dataclass(frozen=True, kw_only=True)
class Components:
  """Everything a run's generation step needs, built once from a config (see `build`).

  Attributes:
    task: canonical task name; obs_size / act_size: the student's input and output sizes.
    student: the student settings (for scoring the result with the same student).
    head: the student's output head (Gaussian or categorical).
    init_params: keys [S] -> student params [S, ...] (HaDES-F's fixed init).
    population_fitness: genomes [P, ...] -> fitness [P] (BC + evaluation of every candidate).
    strategy, es_params: the evosax strategy over genomes and its parameters.
    layout: what the ES evolves (`layout.template`) and how it becomes what students train on.
    method: the `methods.Method` (a dataset: HaDES; the weights: neuroevolution).
    info: task, backend and observation normalisation of the datasets.
    env_steps_per_generation: work units one generation takes (for the rate), in `step_unit`
      (the family's: env steps, images scored).
    candidates_per_chunk: candidates each device trains and evaluates at once (0: all).
    validation: how the ES mean is validated (None: never; the final mean is the result).
    init_genome: seed -> the ES's starting genome (None: the layout's all-zero template).
    run: the run's seed, length and final scoring (`methods.RunFacts`).
  """

  task: str
  obs_size: int
  act_size: int
  student: student_lib.StudentSettings | None
  head: policy_lib.Head
  init_params: types.InitParams
  population_fitness: types.PopulationFitness
  strategy: DistributionBasedAlgorithm
  es_params: Any
  layout: Any
  method: methods.Method
  info: dataset_lib.DatasetInfo | None
  env_steps_per_generation: int
  step_unit: str = "env-steps"
  candidates_per_chunk: int = 0
  validation: validation_lib.Validation | None = None
  init_genome: Any = None
  run: methods.RunFacts = methods.RunFacts()

  def to_dataset(self, genome) -> dataset_lib.SyntheticDataset:
    """An evolved pytree (any leading axes) as what the students train on."""
    return self.layout.to_dataset(genome)

  def unravel(self, flat: jax.Array) -> dataset_lib.SyntheticDataset:
    """A flat ES vector [num_dims] as what the students train on."""
    return self.to_dataset(self.unflatten(flat))

  def unflatten(self, flat: jax.Array):
    """A flat ES vector [num_dims] as the genome pytree (evosax's own ravel of the template)."""
    return flatten_util.ravel_pytree(self.layout.template)[1](flat)


def task_settings(config: ml_collections.ConfigDict) -> families_base.TaskSettings:
  """What the config's task family needs from a resolved config (`families.base`)."""
  spec, family = tasks.lookup(config.task)
  options = None
  if family.options_type is not None:
    options = config_lib.typed(config[family.options_section], family.options_type)
  return families_base.TaskSettings(
      seed=config.seed, student=student_lib.StudentSettings.for_task(spec, config.student),
      dataset_size=config.dataset.size, labels=config.dataset.labels,
      normalization=config.dataset.normalization, obs_stats=config.dataset.obs_stats,
      backend=config.env.backend, episode_length=config.env.episode_length,
      eval_envs=config.eval.num_envs, eval_steps=config.eval.num_steps, options=options)


def run_facts(config: ml_collections.ConfigDict) -> methods.RunFacts:
  """How a resolved config's result is scored and its run described (`methods.RunFacts`)."""
  final = config.final_eval
  return methods.RunFacts(
      seed=config.seed, num_generations=config.es.num_generations, mode=config.hades.mode,
      num_students=config.hades.num_students, fitness_width=config.hades.fitness_width,
      final_students=final.num_students, final_envs=final.num_envs or config.eval.num_envs,
      final_steps=final.num_steps, episode_length=config.env.episode_length)


def make_task_parts(config: ml_collections.ConfigDict) -> types.TaskParts:
  """The student, evaluation and dataset info of the config's task, from its family."""
  spec, family = tasks.lookup(config.task)
  return family.make_task_parts(spec, task_settings(config))


def build(config: ml_collections.ConfigDict) -> Components:
  """Builds student, BC, evaluation, fitness and strategy from a resolved config: the one
  place below the runner that reads the config (into typed settings for everything else)."""
  spec, family = tasks.lookup(config.task)
  settings = task_settings(config)
  parts = family.make_task_parts(spec, settings)
  method = methods.get_method(config.method)
  genome = method.make_genome(settings, parts)
  layout, student = genome.layout, parts.student
  # The ES's students: the dataset's own, or narrower (cheaper) ones (hades.fitness_width).
  fitness_init, fitness_train, fitness_evaluate = student.init_params, genome.train, parts.evaluate
  if config.hades.fitness_width:
    narrow = dataclasses.replace(settings.student, width=config.hades.fitness_width)
    proxy = family.make_task_parts(spec, dataclasses.replace(settings, student=narrow))
    fitness_init, fitness_train = proxy.student.init_params, proxy.student.train
    fitness_evaluate = proxy.evaluate
  fitness = fitness_lib.make_population_fitness(
      fitness_init, fitness_train, fitness_evaluate, config.hades.mode,
      config.hades.num_students, config.hades.student_reduce)

  def population_fitness(genomes, key, fixed_params=None):
    return fitness(layout.to_dataset(genomes), key, fixed_params)

  es = config_lib.typed(config.es, strategy_lib.EsSettings)
  strategy, es_params = strategy_lib.make_strategy(es, layout.template)
  unravel = flatten_util.ravel_pytree(layout.template)[1]
  validation = validation_lib.make_validation(
      student.init_params, genome.train, parts.evaluate,
      lambda flat: layout.to_dataset(unravel(flat)),
      config.validation.every_generations, config.es.num_generations,
      config.validation.num_students, config.validation.std_penalty)
  components = Components(
      task=spec.name, obs_size=parts.obs_size, act_size=parts.act_size,
      student=student.settings, head=student.head, init_params=student.init_params,
      population_fitness=population_fitness, strategy=strategy, es_params=es_params,
      layout=layout, method=method, info=parts.info,
      env_steps_per_generation=(config.es.population_size * config.hades.num_students
                                * parts.eval_steps),
      step_unit=family.step_unit, candidates_per_chunk=config.es.candidates_per_chunk,
      validation=validation, init_genome=genome.init_genome, run=run_facts(config))
  sharding.chunk_shape(config.es.population_size, components.candidates_per_chunk,
                       sharding.make_mesh())
  return components


@struct.dataclass
class DistillState:
  """Full state of a distillation.

  Attributes:
    es_state: evosax strategy state (mean [num_dims], optimiser moments, best, ...).
    key: PRNG key for the next generation.
    generation: [] number of generations done.
    fixed_params: HaDES-F student params with a leading [1] axis (HaDES-R: unused copy).
    validation: the best-validated ES mean so far (see `hades.validation`).
  """

  es_state: Any
  key: jax.Array
  generation: jax.Array
  fixed_params: types.Params
  validation: validation_lib.ValidationState


def init_state(components: Components, seed: int) -> DistillState:
  """ES mean at zero (the paper's init; neuroevolution: initial weights from the seed), fixed
  student drawn from the seed, with the exact types a generation returns (`canonicalize_state`).

  Built inside one jit whose output is replicated over the mesh, so that with several
  processes every one holds the same global state without host-side transfers.
  """

  def make():
    key = jax.random.key(seed)
    key, es_key, fixed_key = jax.random.split(key, 3)
    template = components.strategy.solution  # The all-zero dataset.
    if components.init_genome is not None:
      template = components.init_genome(seed)
    es_state = components.strategy.init(es_key, template, components.es_params)
    # evosax marks "no best solution yet" with NaNs (best_fitness=inf already says so); keep
    # the state NaN-free so that states compare equal (tests, processes).
    es_state = jax.tree.map(
        lambda x: jnp.where(jnp.isnan(x), 0.0, x).astype(x.dtype)
        if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, es_state)
    fixed_params = components.init_params(fixed_key[None])
    validation = validation_lib.init_validation_state(seed, es_state.mean)
    return DistillState(es_state, key, jnp.asarray(0, jnp.int32), fixed_params, validation)

  return canonicalize_state(components, make)


def state_types(components: Components, state_shapes) -> DistillState:
  """The state types (ShapeDtypeStructs) a generation returns for input types `state_shapes`.

  Traces the generation itself (`make_generation`) with stand-ins for its students: every
  candidate's and validation student's return is float32 whatever they compute, and nothing
  else of theirs enters the state. What is left to trace is the ES's ask and tell, where the
  students' BC and rollouts take ~20 s to trace for a Brax task on CPU.
  """
  popsize = components.strategy.population_size

  def evaluate(population, key, fixed_params):
    del population, key, fixed_params
    returns = jnp.zeros((popsize,), jnp.float32)
    return returns, types.FitnessAux(returns, returns)

  validation = components.validation
  if validation is not None:
    returns = jnp.zeros((max(validation.num_students, 1),), jnp.float32)
    validation = dataclasses.replace(validation, score=lambda flat_mean, key: returns)
  generation = make_generation(components, evaluate,
                               validation_lib.make_validation_update(validation))
  return jax.eval_shape(generation, state_shapes)[0]


def canonicalize_state(components: Components, state) -> DistillState:
  """Casts every leaf of `state` (or of `state()` if callable) to the exact type a generation
  returns for it (`state_types`), placed replicated over the mesh as the jitted run returns it.

  evosax's init leaves Python scalars / weakly typed values (e.g. best_fitness=inf) that its
  tell turns into strongly typed arrays; without this, the jitted run would re-trace on its
  second call.
  """
  state_shapes = jax.eval_shape(state) if callable(state) else jax.eval_shape(lambda: state)
  out_shapes = state_types(components, state_shapes)
  replicated = sharding.replicated_sharding()

  def cast(x, spec):
    if jax.dtypes.issubdtype(spec.dtype, jax.dtypes.prng_key):
      return x
    return jnp.asarray(x, dtype=spec.dtype)

  if callable(state):
    return jax.jit(lambda: jax.tree.map(cast, state(), out_shapes), out_shardings=replicated)()
  return jax.jit(lambda s: jax.tree.map(cast, s, out_shapes), out_shardings=replicated)(state)


def make_generation(components: Components, evaluate: types.PopulationFitness, validate):
  """Returns step(state) -> (state, metrics): ask -> `evaluate` the population -> tell ->
  `validate` the new mean (`validation.make_validation_update`). See `make_distill_step`."""
  strategy, es_params = components.strategy, components.es_params
  popsize = strategy.population_size

  def step(state: DistillState):
    key, ask_key, fitness_key, tell_key = jax.random.split(state.key, 4)
    population, es_state = strategy.ask(ask_key, state.es_state, es_params)
    fitness, aux = evaluate(population, fitness_key, state.fixed_params)
    finite = jnp.isfinite(fitness)
    # evosax minimises. A non-finite candidate gets the generation's worst finite loss: it
    # ranks last, and strategies that use raw fitness values see no value outside the finite
    # ones' range (a huge stand-in would dominate their fitness shaping and can make the mean
    # NaN). A generation with no finite candidate is refused by the runner.
    worst = jnp.max(jnp.where(finite, -fitness, -jnp.inf))
    loss = jnp.where(finite, -fitness, jnp.where(jnp.isfinite(worst), worst, 0.0))
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
        "bc_loss/mean": jnp.sum(jnp.where(finite, aux.bc_loss, 0.0)) / n_finite,
        "es/sigma": jnp.mean(es_state.std) if hasattr(es_state, "std") else jnp.nan,
    }
    generation = state.generation + 1
    # Every device validates the same mean with the same keys: replicated, exact.
    validation, validation_metrics = validate(state.validation, es_state.mean, generation)
    metrics.update(validation_metrics)
    # Strong dtypes throughout (evosax leaves some weakly typed), so the state's type is a
    # fixed point of `step` and the jitted run is traced once.
    es_state = jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.result_type(x)), es_state)
    return DistillState(es_state, key, generation, state.fixed_params, validation), metrics

  return step


def make_distill_step(components: Components, mesh: jax.sharding.Mesh | None = None):
  """Returns step(state) -> (state, metrics): one generation, pure and jittable.

  The whole generation runs in `shard_map` over `mesh` (default: all devices) with the state
  replicated: every device runs ask and tell on its own copy, the same program as on one
  device, and BC-trains and evaluates its share of the candidates
  (`sharding.make_population_evaluator`); the only cross-device operation is the exact gather
  of the fitness. XLA is left no partitioning decision that could change a sum's order, so the
  result is bit-identical on any number of devices (with exact CPU math, see
  `sharding.request_exact_cpu_math`).

  metrics is a dict of scalars: fitness/{mean,max,min,std} over finite candidates,
  fitness/best (best candidate so far), fitness/nonfinite (count), episodes/mean, bc_loss/mean
  (over finite candidates).
  """
  mesh = sharding.make_mesh() if mesh is None else mesh
  evaluate = sharding.make_population_evaluator(
      components.population_fitness, components.strategy.population_size,
      components.candidates_per_chunk, mesh)
  step = make_generation(components, evaluate,
                         validation_lib.make_validation_update(components.validation))
  whole = jax.sharding.PartitionSpec()
  return jax.shard_map(step, mesh=mesh, in_specs=whole, out_specs=whole, check_vma=False)


def make_distill_run(step, num_generations: int, mesh: jax.sharding.Mesh | None = None):
  """Returns a jitted run(state) -> (state, metrics [num_generations]) that scans `step`.

  State and metrics are replicated over `mesh` (default: all devices); the input state's
  buffers are donated, so the ES state is updated in place on device.
  """
  replicated = sharding.replicated_sharding(mesh)

  def run(state):
    return jax.lax.scan(lambda s, _: step(s), state, None, length=num_generations)

  return jax.jit(run, in_shardings=replicated, out_shardings=replicated, donate_argnums=0)


def plan_host_calls(start: int, num_generations: int, per_call: int) -> list[int]:
  """Generations per host call from `start` to `num_generations`: calls of `per_call`, the last
  one shorter when it does not divide (at most two compiled shapes)."""
  per_call = max(1, per_call)
  plan, done = [], start
  while done < num_generations:
    plan.append(min(per_call, num_generations - done))
    done += plan[-1]
  return plan


def mean_dataset(components: Components, state: DistillState) -> dataset_lib.SyntheticDataset:
  """The current (final) ES mean as a dataset."""
  return components.to_dataset(components.strategy.get_mean(state.es_state))


def validated_dataset(components: Components, state: DistillState
                      ) -> dataset_lib.SyntheticDataset | None:
  """The best-validated ES mean as a dataset (the distilled result), None before the first
  validation (or with validation off)."""
  if int(state.validation.best_generation) == 0:
    return None
  return components.unravel(state.validation.best_mean)


def best_dataset(components: Components, state: DistillState) -> dataset_lib.SyntheticDataset:
  """The best candidate evaluated so far, as a dataset."""
  return components.unravel(state.es_state.best_solution)


def zero_dataset(components: Components) -> dataset_lib.SyntheticDataset:
  """The ES's starting point as a dataset: all-zero states (fixed labels stay), or the layout's
  base (supervised: class means)."""
  return components.to_dataset(components.layout.template)
