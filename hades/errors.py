"""Errors that mean "the input is wrong", as opposed to bugs.

Launchers report an `InputError` (and `checkpoints.CheckpointError`) as one `error: ...` line
with exit status 2; any other exception is a bug and keeps its traceback.
"""


class InputError(ValueError):
  """Bad input from the user: a config value, a file, a flag, a workdir."""


class ConfigError(InputError):
  """A configuration value is invalid."""


class DatasetFileError(InputError):
  """A dataset file is missing, unreadable or does not fit its task."""
