// The stand-in for sweep_mpi.cpp when CMake found no MPI: --mpi is a clear error.
#include <cstdlib>

#include "../sweep_mpi.h"
#include "core/error.h"

namespace wafer::cli {

MpiSession::MpiSession() {
  fail("--mpi: this wafer was built without MPI (install libopenmpi-dev, scripts/install-deps, and rebuild)");
}
MpiSession::~MpiSession() = default;

api::SweepRunner mpi_coordinator_runner(const MpiSession&) {
  fail("--mpi: this wafer was built without MPI");
}

void mpi_worker(const MpiSession&, const api::SweepSession&) {
  fail("--mpi: this wafer was built without MPI");
}

void mpi_abort(int exit_code) {
  std::exit(exit_code);
}

}  // namespace wafer::cli
