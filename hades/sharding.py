"""Devices: the population axis split over a 1-D mesh of every device of every process."""

from __future__ import annotations

import os

import jax
import numpy as np

from hades.errors import ConfigError

POPULATION_AXIS = "population"

# XLA:CPU contracts a * b + c into one fused multiply-add (FMA) wherever its fusions allow, and a
# 1-device program and an N-device (partitioned) one fuse differently, so the same Brax step
# rounded differently on 1 and N devices and 1000-step returns drifted apart. Without FMA
# instructions (AVX is the widest x86 ISA without them) every op rounds the same way whatever
# the fusion: same dataset on any device count, for about 25% more time per generation on a
# 2-core AVX2 CPU (BC loses FMA; README, Speed).
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
