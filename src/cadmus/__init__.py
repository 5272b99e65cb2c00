"""Cadmus: a small, fully controlled laboratory for autoregressive program synthesis."""

__version__ = "0.1.0"
