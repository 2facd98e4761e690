"""Checkpointing of long runs with orbax (issue 3; not built yet)."""
