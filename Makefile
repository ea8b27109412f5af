# The two commands that do all set-up on a fresh Debian 12 machine:
#   make demo   installs what is missing, builds Release, runs the main job
#   make test   installs what is missing, builds, runs the whole suite
BUILD ?= build
JOBS ?= $(shell nproc)
WAFER := $(BUILD)/wafer

.PHONY: deps build demo test bench clean fuzz

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo $(WAFER)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@WAFER_WITH_TORCH=1 scripts/install-deps
	@bench/run $(WAFER)

clean:
	rm -rf $(BUILD)
