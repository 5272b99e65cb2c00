"""Sub-commands of the `cadmus` CLI, one module per area; each has `register(subparsers)`."""
