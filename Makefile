# The README's two commands are `make demo` and `make test`; both set up .venv themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(HOME)/.cargo/bin:$(PATH)
# maturin must never try to download a Rust toolchain: fail fast if cargo is missing.
export MATURIN_NO_INSTALL_RUST := 1

.PHONY: demo test build lint fmt rust-test py-test bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.10,<2" "numpy>=1.26,<3" "scikit-learn>=1.6" "pytest>=8" \
		"hypothesis>=6.100" "onnx>=1.17" "onnxruntime>=1.20" "pytest-benchmark>=4" "tqdm>=4" "ruff>=0.6" \
		"mypy>=1.10"
	touch $@

build: $(VENV)/.installed
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --locked --quiet

demo: build
	$(PY) examples/demo.py
	$(PY) examples/train_forecaster.py
	$(PY) examples/hopfield_digits.py

lint: $(VENV)/.installed
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	$(VENV)/bin/ruff check python tests benches examples
	$(VENV)/bin/ruff format --check python tests benches examples
	$(VENV)/bin/mypy

fmt: $(VENV)/.installed
	cargo fmt --all
	$(VENV)/bin/ruff format python tests benches examples
	$(VENV)/bin/ruff check --fix python tests benches examples

rust-test:
	cargo test -p rnnfast-core --locked

py-test: build
	$(PY) -m pytest python tests benches --benchmark-disable -q

test: lint rust-test py-test

bench: build
	$(PY) -m pytest benches --benchmark-only --benchmark-columns=min,median,max,rounds
