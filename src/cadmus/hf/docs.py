"""Fill the architecture table of docs/hf.md from `cadmus.hf.archmap.MAPPINGS`.

``python -m cadmus.hf.docs docs/hf.md`` rewrites the block between the
markers; tests/test_hf_export.py checks that the file is in step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cadmus.hf.archmap import mapping_table
from cadmus.hf.errors import HFError

BEGIN, END = "<!-- hf:mapping-table -->", "<!-- /hf:mapping-table -->"


def render_docs(text: str) -> str:
    """`text` (docs/hf.md) with the block between the markers replaced by `mapping_table()`."""
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise HFError(f"no {BEGIN} ... {END} block to fill", file="docs/hf.md")
    return f"{head}{BEGIN}\n{mapping_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/hf.md")
    path.write_text(render_docs(path.read_text()))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
