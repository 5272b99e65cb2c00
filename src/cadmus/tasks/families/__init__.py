"""Built-in task families; importing this package registers them all."""

from cadmus.tasks.families import arith, arrays, bits, control, functions, numtheory, tiers

__all__ = ["arith", "arrays", "bits", "control", "functions", "numtheory", "tiers"]
