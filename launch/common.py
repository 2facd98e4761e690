"""Helpers shared by the launchers: clean error exits and small flag utilities."""

from __future__ import annotations

import os
import re
import sys

# Quiet Brax's optional-dependency import warnings before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import logging  # noqa: E402
import warnings  # noqa: E402

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

# Warnings of dependencies that say nothing to a hades user; only these are silenced.
NOISY_WARNINGS = (
    # Brax warns on every env build that its pipelines are no longer developed upstream.
    r"Brax System, piplines and environments are not actively being maintained",
)
for _message in NOISY_WARNINGS:
  warnings.filterwarnings("ignore", message=_message)
logging.getLogger("brax").setLevel(logging.ERROR)

import checkpoints as _checkpoints  # noqa: E402
from hades import quiet_mujoco  # noqa: F401, E402  (first of hades: before brax imports MuJoCo)
from hades import config as _config
from hades import errors as _errors
from hades import progress as _progress
from hades import runner as _runner
from hades import sharding as _sharding

# Before the backend starts: the same result on any number of CPU devices.
_sharding.request_exact_cpu_math()

# Bad input: reported as one `error: ...` line on stderr with exit status 2, no traceback. Any
# other exception is a bug and keeps its traceback (exit status 1).
USER_ERRORS = (_errors.InputError, _checkpoints.CheckpointError)
InputError = _errors.InputError


def define_resume_flag():
  flags.DEFINE_enum("resume", "auto", list(_runner.RESUME_MODES),
                    "auto: resume from the workdir's checkpoint if any; never: refuse a workdir "
                    "that holds a run; must: refuse a workdir without one.")


def define_progress_flag():
  flags.DEFINE_enum("progress", "auto", list(_progress.MODES),
                    "live: bars redrawn in place; plain: one line per update; auto: live when "
                    "stderr is a terminal.")


def make_progress(num_tasks: int = 1):
  """The display chosen by --progress, for `num_tasks` tasks."""
  return _progress.make_progress(flags.FLAGS.progress, num_tasks)


# JAX's persistent compilation cache: a run, resume or study seed whose programs were compiled
# before loads them instead of compiling again (Brax programs take 20-120 s to compile). The
# key covers the program, XLA flags, devices and jax version, so results are unchanged.
COMPILATION_CACHE_MAX_BYTES = 2 << 30  # Least recently used entries go beyond this.


def default_compilation_cache() -> str:
  """$JAX_COMPILATION_CACHE_DIR if set, else $XDG_CACHE_HOME/hades/jax (~/.cache/...)."""
  if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    return os.environ["JAX_COMPILATION_CACHE_DIR"]
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "hades", "jax")


def enable_compilation_cache(path: str) -> None:
  """Points JAX's persistent compilation cache at `path` ('' turns it off).

  JAX loads native code from the cache, so it must be this user's own: a new directory is
  created private (0700); one that another user owns, or that others can write to, is refused
  (InputError).
  """
  import jax

  if not path:
    jax.config.update("jax_enable_compilation_cache", False)
    return
  path = os.path.abspath(os.path.expanduser(path))
  try:
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
  except OSError as e:
    raise InputError(f"cannot use the compilation cache {path}: {e.strerror}; pass "
                     "--compilation_cache=DIR (or '' to turn it off)") from None
  if info.st_uid != os.getuid():
    raise InputError(f"the compilation cache {path} belongs to another user (uid "
                     f"{info.st_uid}) and JAX runs the code it holds; pass "
                     "--compilation_cache=DIR of your own (or '' to turn it off)")
  if info.st_mode & 0o002:
    raise InputError(f"the compilation cache {path} can be written by others (mode "
                     f"{info.st_mode & 0o777:o}) and JAX runs the code it holds; "
                     f"chmod go-w {path}, or pass --compilation_cache=DIR")
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_compilation_cache_max_size", COMPILATION_CACHE_MAX_BYTES)


def tasks_help(what: str) -> str:
  """A --task/--tasks help text: `what`, then every registered task."""
  from hades import tasks

  return (f"{what} One of: {', '.join(tasks.TASKS)}; or module:name, a task your own module "
          "registers (examples/custom_task.py).")


def _check_config_files(argv: list[str]) -> None:
  """A --config / --study_config file that does not exist: one line, status 2 (ml_collections
  would fail later, with a traceback)."""
  for arg in argv:
    match = re.match(r"--(config|study_config)=([^:]+)", arg)
    if match and not os.path.isfile(match.group(2)):
      print(f"error: --{match.group(1)} file not found: {match.group(2)}", file=sys.stderr,
            flush=True)
      sys.exit(2)


def _show_shared_flags_in_help() -> None:
  """Makes --help list the flags every launcher shares (defined here: --resume, --progress,
  --dry_run, --overwrite, ...; and --config files) next to the launcher's own, instead of only
  under --helpfull among the libraries' flags."""
  main_module = sys.argv[0]
  for name in list(flags.FLAGS):
    module = flags.FLAGS.find_module_defining_flag(name)
    if module == __name__ or (module or "").startswith("ml_collections.config_flags"):
      flags.FLAGS.register_key_flag_for_module(main_module, flags.FLAGS[name])


def _check_renamed_flags(argv: list[str], renamed: dict[str, str]) -> None:
  """A flag given under its old name (`renamed`: {old: new}): one line pointing at the new
  name, status 2."""
  for arg in argv:
    match = re.match(r"--(?:no)?([A-Za-z_][A-Za-z0-9_]*)(=|$)", arg)
    name = match and match.group(1)
    if name and name in renamed and name not in flags.FLAGS:
      print(f"error: --{name} is now --{renamed[name]} (docs/cli.md)", file=sys.stderr,
            flush=True)
      sys.exit(2)


def run(main, renamed: dict[str, str] | None = None):
  """absl.app.run(main), turning user errors into `error: ...` on stderr and exit status 2.
  Every launcher gets --compilation_cache. `renamed` ({old flag: new flag}) refuses a flag's
  old spelling with a pointer to the new one."""
  if "compilation_cache" not in flags.FLAGS:
    flags.DEFINE_string("compilation_cache", default_compilation_cache(),
                        "Directory of JAX's persistent compilation cache: programs compiled "
                        "by an earlier run are loaded, not compiled again (same results). "
                        "'' turns it off.")

  def wrapped(argv):
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
      enable_compilation_cache(flags.FLAGS.compilation_cache)
      return main(argv)
    except USER_ERRORS as e:
      print(f"error: {e}", file=sys.stderr, flush=True)
      sys.exit(2)
    except FloatingPointError as e:
      print(f"error: {e}", file=sys.stderr, flush=True)
      sys.exit(3)
    except _runner.Interrupted as e:
      print(f"interrupted: {e}", file=sys.stderr, flush=True)
      sys.exit(130)

  _show_shared_flags_in_help()
  _check_config_files(sys.argv[1:])
  _check_renamed_flags(sys.argv[1:], renamed or {})

  def parse_flags(argv):
    try:
      return flags.FLAGS(argv)
    except flags.Error as e:  # Unknown flag or config field, bad value: one line, status 2.
      print(f"error: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
      sys.exit(2)
    except SystemExit as e:  # absl exits 1 after printing asked-for help: that is a success.
      asked = {"--help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml"} & set(argv[1:])
      sys.exit(0 if asked and e.code == 1 else e.code)

  app.run(wrapped, flags_parser=parse_flags)


def split_list(value: str) -> list[str]:
  return [v.strip() for v in value.split(",") if v.strip()]


def define_run_flags():
  """Flags of the launchers that run distillations: --dry_run, --overwrite, --resume,
  --progress and the multi-process ones."""
  flags.DEFINE_bool("dry_run", False,
                    "Print the resolved config(s) as JSON on stdout and exit; nothing is "
                    "written.")
  flags.DEFINE_bool("overwrite", False,
                    "Replace a run of another config in the task's workdir instead of refusing: "
                    "the files that run wrote are deleted, nothing else. A run of the same "
                    "config is resumed or kept, never deleted.")
  define_resume_flag()
  define_progress_flag()
  define_distributed_flags()
  flags.DEFINE_integer("cpu_devices", None,
                       "XLA devices to split the host CPU into (the population is spread over "
                       "them; same result for any count). Default: one per usable core, the "
                       "most that divide the population size. Ignored on GPU/TPU and in "
                       "multi-process runs; XLA_FLAGS' own device count wins.")


def setup_cpu_devices(configs) -> None:
  """Applies --cpu_devices (default: one device per usable core, as many as the resolved
  `configs`' populations and chunks allow) before anything starts the JAX backend;
  single-process runs only."""
  f = flags.FLAGS
  if f.distributed or f.coordinator_address:
    return
  if f.cpu_devices is not None and f.cpu_devices < 1:
    raise _errors.InputError(f"--cpu_devices must be >= 1, got {f.cpu_devices}")
  populations = [(c.es.population_size, c.es.candidates_per_chunk) for c in configs]
  count = f.cpu_devices or _sharding.cpu_device_count(populations,
                                                      _sharding.usable_cpu_cores())
  _sharding.request_cpu_devices(count)


def resolve_task_config(task: str | None = None):
  """The resolved config of --config for `task` (default: the config's own task): the file,
  then its preset for the task, then the --config.* values typed on the command line."""
  from ml_collections import config_flags

  overrides = config_flags.get_override_values(flags.FLAGS["config"])
  config = flags.FLAGS.config.copy_and_resolve_references()
  if task is not None:
    overrides = dict(overrides, task=task)
  return _config.resolve_config(config, overrides)


def print_configs(configs: dict) -> None:
  """--dry_run: {task: resolved config} as JSON on stdout (one task: its config alone)."""
  import json

  payload = {t: c.to_dict() for t, c in configs.items()}
  if len(payload) == 1:
    payload = next(iter(payload.values()))
  print(json.dumps(payload, indent=2, sort_keys=True))


def task_workdir(workdir: str, task: str) -> str:
  """WORKDIR/<task> (a user's task 'module:name': WORKDIR/name), created; a clear error if it
  cannot be written."""
  from hades import tasks

  path = os.path.join(os.path.abspath(workdir), tasks.folder(task))
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise _errors.InputError(f"cannot create workdir {path}: {e.strerror}") from None
  if not os.access(path, os.W_OK):
    raise _errors.InputError(f"workdir {path} is not writable")
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


def _override_error(error: Exception) -> str:
  """ml_collections' error for a bad --config.* override as one line: the unknown field and
  its suggestion ('unknown config field es.sigmaa (did you mean sigma?)'), or the message."""
  while isinstance(error, (AttributeError, KeyError)) and error.args and isinstance(
      error.args[0], Exception):
    error = error.args[0]  # ml_collections wraps the KeyError in an AttributeError.
  text = str(error.args[0]) if error.args else str(error)
  if not isinstance(error, (AttributeError, KeyError)):
    return " ".join(text.split())
  field = re.search(r"""^'([^']+)'|Key "([^"]+)" does not exist""", text)
  hint = re.search(r'Did you mean "([^"]+)"', text)
  name = next((g for g in field.groups() if g), text) if field else text.splitlines()[0]
  return f"unknown config field {name!r}" + (f" (did you mean {hint.group(1)!r}?)" if hint
                                             else "")


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
    print(f"error: bad --config override: {_override_error(e)}", file=sys.stderr, flush=True)
    sys.exit(2)
