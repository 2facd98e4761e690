"""Imports MuJoCo's MJX without the two notices it prints to stdout when its optional GPU
backend (NVIDIA warp) is not installed ("Failed to import warp ..."): they would land in the
JSON that launchers print. Modules that import brax import this first."""

import contextlib
import io

with contextlib.redirect_stdout(io.StringIO()):
  import mujoco.mjx  # noqa: F401
