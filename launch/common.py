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
from hades import dataset as _dataset
from hades import distill as _distill

USER_ERRORS = (_distill.ConfigError, _dataset.DatasetFileError, ValueError, FileNotFoundError,
               PermissionError, KeyError)


def run(main):
  """absl.app.run(main), turning user errors into `error: ...` on stderr and exit status 2."""

  def wrapped(argv):
    try:
      return main(argv)
    except USER_ERRORS as e:
      message = e.args[0] if isinstance(e, KeyError) and e.args else e
      print(f"error: {message}", file=sys.stderr, flush=True)
      sys.exit(2)
    except FloatingPointError as e:
      print(f"error: {e}", file=sys.stderr, flush=True)
      sys.exit(3)

  app.run(wrapped)


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
