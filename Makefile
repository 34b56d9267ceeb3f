# Thin wrapper around CMake/CTest. `make demo` and `make test` are the README's quick start.
BUILD   ?= build
JOBS    ?= 2
NP      ?= 2
CMAKE_FLAGS ?=
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1

.PHONY: all deps build test demo bench sanitize fuzz fuzz-check format clean build64

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

demo: build
	bash scripts/demo.sh $(BUILD) $(NP)

bench: build
	bash bench/run.sh $(BUILD)

# The 64-bit-index build (PetscInt = int64: Debian's libpetsc64-real-dev/libslepc64-real-dev,
# so operators may have more than 2^31 - 1 rows): every target built, then the index-width
# test (tests/petsc64) and the solver, source and metrics tests (~1 min after the build).
BUILD64 ?= build-64
build64: deps
	cmake -S . -B $(BUILD64) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPD_PETSC64=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD64) -j $(JOBS)
	cd $(BUILD64) && ctest --output-on-failure -j $(JOBS) -L 'petsc64|solver|source|metrics' $(CTEST_FLAGS)

# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSPD_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j $(JOBS) -LE nosan $(CTEST_FLAGS)

# libFuzzer targets (tests/fuzz, docs/reliability.md): a separate clang build in
# build-fuzz; each target runs FUZZ_SECONDS from its seed corpus after its regressions.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors safetensors_index hdf5 keras_config job idx
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DSPD_FUZZ=ON
	cmake --build build-fuzz --target fuzz_targets -j $(JOBS)
	@mkdir -p build-fuzz/fuzz/logs; for t in $(FUZZ_TARGETS); do \
	  log=build-fuzz/fuzz/logs/$$t.log; echo "== fuzz_$$t: $(FUZZ_SECONDS) s (log: $$log)"; \
	  if bash tests/fuzz/run.sh $(CURDIR)/build-fuzz/fuzz fuzz_$$t $(FUZZ_SECONDS) > $$log 2>&1; then \
	    grep -E '^#[0-9]+[[:space:]]+DONE' $$log || true; \
	  else grep -E 'ERROR|SUMMARY|fuzz finding|Test unit written' $$log; exit 1; fi; \
	done

# The CI's short fuzz runs: every target replays its regressions and fuzzes a few
# seconds from its seeds (ctest -L fuzz; under 60 s in total).
fuzz-check: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DSPD_FUZZ=ON
	cmake --build build-fuzz --target fuzz_targets -j $(JOBS)
	cd build-fuzz && ctest --output-on-failure -L fuzz

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
