"""Built-in task families; importing this package registers them all."""

from cadmus.tasks.families import arith, arrays, control, functions, numtheory

__all__ = ["arith", "arrays", "control", "functions", "numtheory"]
