"""Run checkpoints with orbax. This is the only package that imports orbax-checkpoint."""

from checkpoints.manager import (CheckpointError, RunCheckpointer, WorkdirLock,
                                 config_differences, versions)

__all__ = ["CheckpointError", "RunCheckpointer", "WorkdirLock", "config_differences", "versions"]
