# UPAdapter: the two commands of the README, and their parts.
#
#   make demo   installs the system packages if missing, builds in release mode, and runs UP-Adapter
#               on Fashion-MNIST under five distribution shifts with the demo CLIP (Models/demo-clip)
#   make test   installs the system packages if missing, builds and runs every test, then runs the
#               test suites that use OpenCL again once per kernel-variant family (test-variants),
#               then the GPU check bundle's bare-root test (test-gpu-bundle)
#
# Packages: PoCL (CPU OpenCL driver) + OpenCL headers/loader, OpenBLAS, libpng, libjpeg-turbo, libcurl (model download),
# zlib, Fashion-MNIST for the demo, and binutils (strip, objdump) and xz-utils for the GPU check bundle.

DEBIAN_PACKAGES = pocl-opencl-icd ocl-icd-opencl-dev opencl-headers libopenblas-dev libpng-dev \
                  libjpeg62-turbo-dev libturbojpeg0-dev zlib1g-dev libcurl4-openssl-dev clinfo dataset-fashion-mnist \
                  binutils xz-utils
SWIFT ?= swift

.PHONY: demo test test-variants test-gpu-bundle deps build release check bench gpu-check-bundle clean

deps:
	@missing=$$(for package in $(DEBIAN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || echo $$package; \
	  done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	  else \
	    echo "missing Debian packages: $$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y $$missing   (or: sudo make deps)"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-xctest
	$(MAKE) --no-print-directory test-variants
	$(MAKE) --no-print-directory test-gpu-bundle

# The OpenCL tests run on whatever device is present (PoCL in CI) with the kernel variants its
# table picks; here they run again with each variant family forced (UPADAPTER_KERNEL_VARIANT), so
# the GPU-style kernels are tested on PoCL and the CPU-style ones on a GPU.
OPENCL_TEST_SUITES = ComputeTests|CLIPEncoderTests|PseudoLabelingTests|PrototypeTrainerTests|AdaptationTests
KERNEL_VARIANT_FAMILIES = gpu cpu

test-variants:
	@for family in $(KERNEL_VARIANT_FAMILIES); do \
	  echo "=== OpenCL suites with UPADAPTER_KERNEL_VARIANT=$$family ==="; \
	  UPADAPTER_KERNEL_VARIANT=$$family $(SWIFT) test --disable-xctest --skip-build --filter '$(OPENCL_TEST_SUITES)' || exit 1; \
	done

check: release
	.build/release/upadapter kernels check --device cpu
	.build/release/upadapter kernels check --device opencl --all-variants

bench: release
	.build/release/upadapter kernels bench --device cpu
	.build/release/upadapter kernels bench --device opencl

# A stripped release binary (static Swift runtime) with every shared library it needs but glibc and
# the GPU driver, its kernels, the demo model and the GPU check scripts, to run on a GPU machine
# without a toolchain or a package registry (docs/benchmarks.md, "GPU check").
gpu-check-bundle: deps
	scripts/gpu_check.sh bundle upadapter-gpu-check.tar.xz

# The bundle's proof without a GPU: built, unpacked into a bare root (glibc, bash, coreutils and
# python3 only; skipped with a message where mount namespaces are not allowed) to run the check's
# CPU steps, then its OpenCL steps on PoCL through the bundle's ICD loader and a fake driver layout.
test-gpu-bundle: deps
	scripts/test_gpu_bundle.sh

DEMO_SHIFTS = solarize blur_noise low_contrast_noise edges inversion

demo: release
	@for shift in $(DEMO_SHIFTS); do \
	  echo; echo "=== Fashion-MNIST, shift '$$shift' (Configs/demo/$$shift.yaml) ==="; \
	  .build/release/upadapter run --config Configs/demo/$$shift.yaml --quiet || exit 1; \
	done

clean:
	rm -rf .build
