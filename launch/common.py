"""Helpers shared by the launchers: clean error exits and small flag utilities."""

from __future__ import annotations

import os
import sys

# Quiet Brax's optional-dependency import warnings before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import logging
import warnings

from absl import app

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=UserWarning)
logging.getLogger("brax").setLevel(logging.ERROR)

# User errors: reported as one line on stderr with exit status 2, no traceback.
from absl import flags
from absl import logging as absl_logging

import contextlib

# Brax prints optional-dependency notices ("Failed to import warp") on stdout when imported;
# keep stdout for results (launch.evaluate prints JSON there).
with contextlib.redirect_stdout(sys.stderr):
  import brax.envs  # noqa: F401

import checkpoints as _checkpoints
from hades import dataset as _dataset
from hades import distill as _distill
from hades import metrics_log as _metrics_log
from hades import progress as _progress

USER_ERRORS = (_distill.ConfigError, _dataset.DatasetFileError, _checkpoints.CheckpointError,
               _metrics_log.MetricsError, ValueError, FileNotFoundError, PermissionError, KeyError)


def define_resume_flag():
  flags.DEFINE_enum("resume", "auto", list(_distill.RESUME_MODES),
                    "auto: resume from the workdir's checkpoint if any; never: refuse a workdir "
                    "that holds a run; must: refuse a workdir without one.")


def define_progress_flag():
  flags.DEFINE_enum("progress", "auto", list(_progress.MODES),
                    "live: bars redrawn in place; plain: one line per update; auto: live when "
                    "stderr is a terminal.")


def make_progress(num_tasks: int = 1):
  """The display chosen by --progress, for `num_tasks` tasks."""
  return _progress.make_progress(flags.FLAGS.progress, num_tasks)


def run(main):
  """absl.app.run(main), turning user errors into `error: ...` on stderr and exit status 2."""

  def wrapped(argv):
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
      return main(argv)
    except USER_ERRORS as e:
      message = e.args[0] if isinstance(e, KeyError) and e.args else e
      print(f"error: {message}", file=sys.stderr, flush=True)
      sys.exit(2)
    except FloatingPointError as e:
      print(f"error: {e}", file=sys.stderr, flush=True)
      sys.exit(3)
    except _distill.Interrupted as e:
      print(f"interrupted: {e}", file=sys.stderr, flush=True)
      sys.exit(130)

  def parse_flags(argv):
    try:
      return flags.FLAGS(argv)
    except flags.Error as e:  # Unknown flag or config field, bad value: one line, status 2.
      print(f"error: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
      sys.exit(2)

  app.run(wrapped, flags_parser=parse_flags)


def split_list(value: str) -> list[str]:
  return [v.strip() for v in value.split(",") if v.strip()]


def task_workdir(workdir: str, task: str) -> str:
  """WORKDIR/<task>, created; a clear error if it cannot be written."""
  path = os.path.join(os.path.abspath(workdir), task)
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise PermissionError(f"cannot create workdir {path}: {e.strerror}") from None
  if not os.access(path, os.W_OK):
    raise PermissionError(f"workdir {path} is not writable")
  return path


def define_distributed_flags():
  flags.DEFINE_string("coordinator_address", None,
                      "host:port of process 0, for multi-process runs (jax.distributed).")
  flags.DEFINE_integer("num_processes", None, "Number of processes of a multi-process run.")
  flags.DEFINE_integer("process_id", None, "This process's index in a multi-process run.")
  flags.DEFINE_bool("distributed", False,
                    "Call jax.distributed.initialize() and let JAX auto-detect the cluster "
                    "(SLURM, Cloud TPU, ...); implied by --coordinator_address.")


def maybe_initialize_distributed():
  """Starts JAX's distributed runtime when asked to; afterwards jax.devices() spans all hosts."""
  f = flags.FLAGS
  if not (f.distributed or f.coordinator_address):
    return
  import jax

  # CPU processes need a collectives library to talk to each other; the setting only concerns
  # the CPU backend (asking which backend is the default would start it too early).
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=f.coordinator_address,
                             num_processes=f.num_processes, process_id=f.process_id)


def define_config(default_path: str | None = None,
                  help_text: str = "Config file (ml_collections).") -> None:
  """DEFINE_config_file('config', ...) (default: hades/configs/default.py), turning a bad
  --config.* override (unknown field, wrong type), which ml_collections reports while defining
  the flag, into one line and status 2."""
  from ml_collections import config_flags

  import hades.configs

  if default_path is None:
    default_path = os.path.join(os.path.dirname(hades.configs.__file__), "default.py")

  try:
    config_flags.DEFINE_config_file("config", default_path, help_text, lock_config=True)
  except (AttributeError, KeyError, TypeError, ValueError, flags.Error) as e:
    message = str(e).strip("\"'")
    if isinstance(e, (AttributeError, KeyError)):
      message = f"unknown config field {message!r}"
    print(f"error: bad --config override: {message}", file=sys.stderr, flush=True)
    sys.exit(2)
