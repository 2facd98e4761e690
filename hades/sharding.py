"""Devices: the population axis split over a 1-D mesh of every device of every process, and
the evaluation of a population split over it (`make_population_evaluator`)."""

from __future__ import annotations

import os

import jax
import numpy as np

from hades import types
from hades.errors import ConfigError

POPULATION_AXIS = "population"

# XLA:CPU contracts a * b + c into one fused multiply-add (FMA) wherever its fusions allow, and a
# 1-device program and an N-device (partitioned) one fuse differently, so the same Brax step
# rounded differently on 1 and N devices and 1000-step returns drifted apart. Without FMA
# instructions (AVX is the widest x86 ISA without them) every op rounds the same way whatever
# the fusion: same dataset on any device count, for about 25% more time per generation on a
# 2-core AVX2 CPU (BC loses FMA; docs/reproducibility.md).
EXACT_CPU_ISA = "AVX"


def request_exact_cpu_math() -> None:
  """Caps XLA:CPU at `EXACT_CPU_ISA` unless XLA_FLAGS already names an ISA.

  Takes effect only if called before the backend starts (the launchers do it on import).
  A user who prefers native speed over device-count invariance sets
  XLA_FLAGS=--xla_cpu_max_isa=<ISA> (e.g. AVX2) themselves. GPUs are unaffected.
  """
  flags = os.environ.get("XLA_FLAGS", "")
  if "--xla_cpu_max_isa" not in flags:
    os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_max_isa={EXACT_CPU_ISA}".strip()


DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def usable_cpu_cores() -> int:
  """CPU cores this process may run on (its affinity mask, e.g. under taskset or a container)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # Not Linux.
    return os.cpu_count() or 1


def cpu_device_count(populations: list[tuple[int, int]], cores: int) -> int:
  """The most CPU devices, at most `cores`, that split every (population size, candidates per
  chunk) evenly: the population into equal shares, each share into whole chunks (0: one)."""

  def fits(d):
    return all(p % d == 0 and (not chunk or (p // d) % chunk == 0) for p, chunk in populations)

  return max(d for d in range(1, max(cores, 1) + 1) if fits(d) or d == 1)


def request_cpu_devices(count: int) -> int:
  """Splits the host CPU into `count` XLA devices, unless XLA_FLAGS already sets a count.

  XLA:CPU runs one device's program on about one core, so a 2-core machine distils nearly
  twice as fast on 2 devices, each evaluating half the population; the result is the same bit
  for bit (see `make_distill_step`). Takes effect only before the backend starts; GPU and TPU
  runs are unaffected (their accelerators stay the default devices). Returns the count in
  effect for the CPU backend.
  """
  flags = os.environ.get("XLA_FLAGS", "")
  for item in flags.split():
    if item.startswith(DEVICE_COUNT_FLAG + "="):
      return int(item.split("=", 1)[1])
  if count > 1:
    os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_COUNT_FLAG}={count}".strip()
  return max(count, 1)


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


def sync_processes(name: str, timeout_s: int = 3600) -> None:
  """Waits until every process reaches this point (no-op with one process).

  Processes compile at different speeds; CPU collectives (gloo) give up if their peers arrive
  more than ~30 s apart, so multi-process runs meet here after compiling.
  """
  if jax.process_count() > 1:
    from jax._src import distributed  # The runtime's own key-value barrier.

    distributed.global_state.client.wait_at_barrier(name, timeout_s * 1000)


def chunk_shape(population_size: int, candidates_per_chunk: int,
                mesh: jax.sharding.Mesh) -> tuple[int, int]:
  """(candidates per device, candidates per chunk); raises ConfigError when they do not fit."""
  check_population_divides(population_size, mesh)
  local = population_size // mesh.size
  chunk = candidates_per_chunk or local
  if chunk < 1 or local % chunk:
    raise ConfigError(f"es.candidates_per_chunk={candidates_per_chunk} must divide the "
                      f"{local} candidates of each of the {mesh.size} devices")
  return local, chunk


def make_population_evaluator(population_fitness: types.PopulationFitness,
                              population_size: int, candidates_per_chunk: int = 0,
                              mesh: jax.sharding.Mesh | None = None) -> types.PopulationFitness:
  """Returns evaluate(population [P], key, fixed_params) -> (fitness [P], FitnessAux [P]) for
  use inside `shard_map` over `mesh`: every device holds the whole population, evaluates its
  own P / num_devices candidates, and all of them get every result (one exact `all_gather`).

  Each device works through its candidates in `lax.map` chunks of `candidates_per_chunk`
  vmapped candidates (0: all of them at once), so memory grows with the chunk, not with the
  population. Every candidate gets the same inputs (common random keys) whatever the device
  count or chunk.
  """
  mesh = make_mesh() if mesh is None else mesh
  local, chunk = chunk_shape(population_size, candidates_per_chunk, mesh)

  def evaluate(population, key, fixed_params=None):
    first = jax.lax.axis_index(POPULATION_AXIS) * local
    mine = jax.tree.map(lambda x: jax.lax.dynamic_slice_in_dim(x, first, local), population)
    chunks = jax.tree.map(lambda x: x.reshape((local // chunk, chunk) + x.shape[1:]), mine)
    out = jax.lax.map(lambda group: population_fitness(group, key, fixed_params), chunks)
    out = jax.tree.map(lambda x: x.reshape((local,) + x.shape[2:]), out)
    return jax.lax.all_gather(out, POPULATION_AXIS, tiled=True)  # Copies: exact.

  return evaluate
