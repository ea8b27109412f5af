# The two commands that do all set-up on a fresh Debian 12 machine:
#   make demo   installs what is missing, builds the wafer binary (Release), runs the main job
#   make test   installs what is missing, builds, runs the whole suite
BUILD ?= build
JOBS ?= $(shell nproc)
WAFER := $(BUILD)/wafer

.PHONY: deps configure build demo test test-models bench fidelity clean
.DEFAULT_GOAL := build  # plain `make` builds everything (the binary, the tests, the Python module)

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The demo needs only the wafer binary, not the test suite.
demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target wafer
	@scripts/demo $(WAFER)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The four big PyTorch models (ResNet-50, MobileNetV2, BERT-base, ViT-B/16) against PyTorch's outputs on
# the reference backend: exports need python3-torch and take minutes, so they are not in `make test`.
test-models: build
	@WAFER_WITH_TORCH=1 scripts/install-deps
	@cmake -S . -B $(BUILD) -DWAFER_MODEL_TESTS=ON >/dev/null
	@cd $(BUILD) && ctest --output-on-failure -L models

# Wafer vs ONNX Runtime 1.30 on the five model cases (docs/PERFORMANCE.md); not part of `make test`.
# One case: bench/run build/wafer --case resnet50_b1. Extra flags: make bench BENCH_ARGS="--rounds 1".
bench: build
	@WAFER_WITH_TORCH=1 scripts/install-deps
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "make bench needs node and npm (ONNX Runtime comes from npm): apt-get install nodejs npm"; exit 1; }
	@bench/run $(WAFER) $(BENCH_ARGS)

# The simulator against published measurements of real machines (MLPerf Inference, papers): exports
# ResNet-50 and the BERT-large encoder (graphs only, python3-torch), builds the six TPU v1 stand-ins
# (scripts/tpu_v1_models.py) and writes docs/FIDELITY.md. Minutes.
fidelity: build
	@WAFER_WITH_TORCH=1 scripts/install-deps
	@/usr/bin/python3 scripts/export_models.py $(BUILD)/fidelity-models --models resnet50,bert_large --graph-only
	@/usr/bin/python3 scripts/tpu_v1_models.py $(BUILD)/fidelity-models
	@scripts/fidelity $(WAFER) --models $(BUILD)/fidelity-models --out docs/FIDELITY.md

clean:
	rm -rf $(BUILD)
