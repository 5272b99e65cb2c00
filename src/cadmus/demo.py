"""`python -m cadmus.demo` (`make demo`): a short showcase of Cadmus.

For now it shows the VM: each bundled example program is assembled, run and
its output printed, and the first steps of one run are traced.
"""

from __future__ import annotations

from importlib import resources

# Example file, inputs, one-line description. failing_assert.asm is bundled
# for the CLI and tests, not for the showcase.
SHOWCASE: tuple[tuple[str, tuple[int, ...], str], ...] = (
    ("factorial.asm", (), "recursive factorial (call/ret with an argument)"),
    ("gcd.asm", (), "Euclid's gcd in a loop"),
    ("sort.asm", (), "insertion sort of an array (newarr/aload/astore)"),
    ("sum_inputs.asm", (4, 10, 20, 30, 40), "sum of the inputs (read)"),
)


def example_text(name: str) -> str:
    """The text of a bundled example program."""
    return resources.files("cadmus").joinpath("examples", name).read_text(encoding="utf-8")


def vm_showcase(trace_steps: int = 15) -> None:
    from cadmus.commands.vm import format_trace
    from cadmus.vm import assemble, run

    print("Cadmus VM showcase: bundled example programs\n")
    for name, inputs, what in SHOWCASE:
        result = run(assemble(example_text(name)), inputs)
        shown = f" --input {','.join(map(str, inputs))}" if inputs else ""
        print(f"== {name}{shown}: {what} ({result.steps} steps, {result.status})")
        print(result.output_text())
        print()
    name = "gcd.asm"
    result = run(assemble(example_text(name)), trace=True)
    assert result.trace is not None
    print(f"== trace of {name}: first {trace_steps} of {len(result.trace)} steps")
    print(format_trace(result.trace[:trace_steps]), end="")


def main() -> None:
    vm_showcase()


if __name__ == "__main__":
    main()
