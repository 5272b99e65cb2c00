"""`cadmus` sub-commands for the data area."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's sub-commands (none yet)."""
