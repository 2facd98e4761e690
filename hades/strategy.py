"""ES strategies: any distribution-based evosax algorithm, built from `EsSettings` (`config.es`).

evosax minimises; the generation step hands it `-fitness`. The ES mean starts at the template
(the all-zero dataset, the paper's init).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any

import jax.numpy as jnp
import numpy as np
import optax

from hades.errors import ConfigError

if TYPE_CHECKING:
  from evosax.algorithms.distribution_based.base import DistributionBasedAlgorithm

# Strategies whose population is split into mirrored pairs.
_NEEDS_EVEN = ("ARS", "ASEBO", "CR_FM_NES", "ESMC", "NoiseReuseES", "PGPE", "PersistentES")
# Strategies steered by a surrogate gradient the user sets in their state each generation.
_NEEDS_GRADIENT = ("GuidedES",)
# Arguments hades knows how to supply (the rest must have defaults).
_SUPPLIED = ("self", "population_size", "solution", "optimizer", "std_schedule",
             "use_antithetic_sampling")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EsSettings:
  """The ES (the fields of `config.es` that build the strategy).

  Attributes:
    strategy: an evosax distribution-based algorithm's name (`strategy_names()`).
    population_size: candidates per generation.
    sigma, learning_rate: the sampling radius and the mean's optimiser step, scheduled per
      generation g as value * decay**g, never below their limit (decay 1: constant).
    antithetic: mirrored sampling where the strategy offers it.
    optimizer: the mean's optimiser where the strategy takes one, 'adam' | 'sgd'.
  """

  strategy: str = "Open_ES"
  population_size: int = 32
  sigma: float = 0.03
  learning_rate: float = 0.05
  antithetic: bool = True
  optimizer: str = "adam"
  sigma_decay: float = 1.0
  sigma_limit: float = 0.0
  lr_decay: float = 1.0
  lr_limit: float = 0.0


def _registry() -> dict:
  # Imported here: evosax creates arrays at import time, which starts the XLA backend, and
  # launchers must be able to call jax.distributed.initialize() after importing hades.
  import evosax.algorithms

  return evosax.algorithms.distribution_based_algorithms


def strategy_names() -> list[str]:
  """Every distribution-based evosax strategy that `make_strategy` can build."""
  return sorted(name for name, cls in _registry().items()
                if not _missing_arguments(cls) and name not in _NEEDS_GRADIENT)


def _missing_arguments(cls) -> list[str]:
  params = inspect.signature(cls.__init__).parameters.values()
  return [p.name for p in params if p.name not in _SUPPLIED and p.default is p.empty
          and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def decay_schedule(initial: float, decay: float, limit: float, name: str) -> optax.Schedule:
  """generation -> initial * decay**generation, never below `limit` (the paper's supervised
  setting: sigma and learning rate x0.999 per generation); decay 1 is constant.

  Per generation rather than over the run's length, so extending a run (more generations)
  continues the same schedule.
  """
  if not 0.0 < decay <= 1.0:
    raise ConfigError(f"es.{name}_decay must be in (0, 1] (1: constant), got {decay}")
  if not 0.0 <= limit <= initial:
    raise ConfigError(f"es.{name}_limit must be in [0, {initial}] (the initial {name}), got "
                      f"{limit}")
  if decay == 1.0:
    return optax.constant_schedule(initial)
  return optax.exponential_decay(initial, transition_steps=1, decay_rate=decay,
                                 end_value=limit)


def make_strategy(es: EsSettings, template: Any) -> tuple[DistributionBasedAlgorithm, Any]:
  """Builds an evosax distribution-based strategy by name; returns (strategy, params).

  Args:
    es: the strategy's name, population size, sigma and learning rate with their schedules.
    template: a pytree with the evolved shapes (e.g. a SyntheticDataset of zeros).

  Raises:
    ConfigError: unknown strategy, one needing arguments hades does not supply, or a
      population size the strategy cannot use (evosax's own assertions included).
  """
  import evosax.algorithms

  name = es.strategy
  registry = _registry()
  if name not in registry:
    population_based = name in evosax.algorithms.population_based_algorithms
    hint = " (population-based strategies are not supported)" if population_based else ""
    raise ConfigError(f"unknown ES strategy {name!r}{hint}; choose one of "
                      f"{', '.join(strategy_names())}")
  cls = registry[name]
  missing = _missing_arguments(cls)
  if name in _NEEDS_GRADIENT:
    raise ConfigError(f"ES strategy {name} follows a surrogate gradient that hades does not "
                      f"supply; choose one of {', '.join(strategy_names())}")
  if missing:
    raise ConfigError(f"ES strategy {name} needs arguments hades does not supply "
                      f"({', '.join(missing)}); choose one of {', '.join(strategy_names())}")
  popsize = es.population_size
  if popsize < 1:
    raise ConfigError(f"population size must be >= 1, got {popsize}")
  accepted = inspect.signature(cls.__init__).parameters
  antithetic = es.antithetic and "use_antithetic_sampling" in accepted
  if (antithetic or name in _NEEDS_EVEN) and popsize % 2:
    raise ConfigError(f"population size must be even for antithetic sampling ({name}), "
                      f"got {popsize}")
  kwargs = {}
  if "optimizer" in accepted:
    optimizers = {"adam": optax.adam, "sgd": optax.sgd}
    kind = es.optimizer
    if kind not in optimizers:
      raise ConfigError(f"unknown es.optimizer {kind!r}; choose one of {sorted(optimizers)}")
    kwargs["optimizer"] = optimizers[kind](decay_schedule(
        es.learning_rate, es.lr_decay, es.lr_limit, "lr"))
  elif es.lr_decay != 1.0:
    raise ConfigError(f"ES strategy {name} has no learning rate to decay; set es.lr_decay=1")
  if "std_schedule" in accepted:
    kwargs["std_schedule"] = decay_schedule(es.sigma, es.sigma_decay,
                                            es.sigma_limit, "sigma")
  elif es.sigma_decay != 1.0:
    raise ConfigError(f"ES strategy {name} adapts its own sigma; set es.sigma_decay=1")
  if "use_antithetic_sampling" in accepted:
    kwargs["use_antithetic_sampling"] = bool(es.antithetic)
  try:
    strategy = cls(popsize, template, **kwargs)
  except AssertionError as e:  # evosax checks its arguments with assertions.
    raise ConfigError(f"ES strategy {name} cannot use population_size={popsize}: "
                      f"{e or 'evosax refused the settings'}") from None
  params = strategy.default_params
  # Matrix-adaptation strategies scale by sqrt(c_c * (2 - c_c)); evosax's LM_MA_ES sets
  # c_c = population / dimensions, which turns the ES mean to NaN once it exceeds 2.
  if hasattr(params, "c_c") and np.any(np.asarray(params.c_c) > 2.0):
    raise ConfigError(f"ES strategy {name} cannot use population_size={popsize} for "
                      f"{strategy.num_dims} evolved numbers (its c_c exceeds 2 and the mean "
                      "becomes NaN); use fewer candidates or another strategy")
  if hasattr(params, "std_init"):
    params = params.replace(std_init=jnp.asarray(es.sigma, jnp.float32))
  return strategy, params
