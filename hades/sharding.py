"""Devices: the population axis split over a 1-D mesh of every device of every process."""

from __future__ import annotations

import jax
import numpy as np

from hades.errors import ConfigError

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


def sync_processes(name: str, timeout_s: int = 3600) -> None:
  """Waits until every process reaches this point (no-op with one process).

  Processes compile at different speeds; CPU collectives (gloo) give up if their peers arrive
  more than ~30 s apart, so multi-process runs meet here after compiling.
  """
  if jax.process_count() > 1:
    from jax._src import distributed  # The runtime's own key-value barrier.

    distributed.global_state.client.wait_at_barrier(name, timeout_s * 1000)
