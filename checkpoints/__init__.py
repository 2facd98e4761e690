"""Run checkpoints with orbax. This is the only package that imports orbax-checkpoint."""

from checkpoints.manager import CheckpointError, RunCheckpointer, WorkdirLock, versions

__all__ = ["CheckpointError", "RunCheckpointer", "WorkdirLock", "versions"]
