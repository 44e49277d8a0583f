"""``set_flush_denormal``'s argument and platform check, shared by the engines."""

import platform
import sys

__all__ = ["flush_mode_arg", "cpu_has_flush_mode"]


def flush_mode_arg(mode: object) -> bool:
    """``mode`` if it is a bool; anything else is torch's RuntimeError."""
    if type(mode) is not bool:
        raise RuntimeError(f"set_flush_denormal(): flush_denormal expects a bool, but got "
                           f"{type(mode).__name__}")
    return mode


def cpu_has_flush_mode() -> bool:
    """Whether the compiled engine can flush subnormals here: x86-64 (MXCSR FTZ/DAZ)
    or aarch64 with GCC or Clang (FPCR.FZ; not Windows on ARM), as ``csrc/tg_fpmode.h``
    decides at compile time."""
    machine = platform.machine().lower()
    if sys.platform == "win32":
        return machine in ("amd64", "x86_64")
    return machine in ("x86_64", "amd64", "aarch64", "arm64")
