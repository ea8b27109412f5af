// The MPI side of `wafer sweep --mpi`. Messages (all on MPI_COMM_WORLD):
//   worker -> 0, kResult: a point line (npu/report/sweep_results.h) of the point just evaluated, or
//                         an empty message (the first request for work)
//   0 -> worker, kWork:   the grid index to evaluate (uint64)
//   0 -> worker, kStop:   no more work (a uint64 that means nothing)
// A point travels as the same JSON line the results file holds, with the sweep's fingerprint, so a
// rank started with other arguments is caught, and doubles arrive bit for bit.
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "../sweep_mpi.h"
#include "core/error.h"
#include "npu/report/sweep_results.h"

namespace wafer::cli {

namespace {

constexpr int kResult = 1, kWork = 2, kStop = 3;

void checked(int rc, const char* what) {
  check(rc == MPI_SUCCESS, "MPI: ", what, " failed (code ", rc, ")");
}

// Rank 0 waits for the next request by polling with a short sleep: a blocking MPI_Probe spins at
// full speed in Open MPI, and would take a core from a worker on the same node (mpirun -n 2 on two
// cores ran at half speed). A millisecond is nothing next to a design point.
MPI_Status wait_for_request() {
  MPI_Status status;
  for (int flag = 0;;) {
    checked(MPI_Iprobe(MPI_ANY_SOURCE, kResult, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
    if (flag) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

MpiSession::MpiSession() {
  int initialized = 0;
  checked(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) checked(MPI_Init(nullptr, nullptr), "MPI_Init");
  checked(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  checked(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiSession::~MpiSession() {
  MPI_Finalize();
}

api::SweepRunner mpi_coordinator_runner(const MpiSession& mpi) {
  const int ranks = mpi.size();
  return [ranks](const api::SweepSession& session, const std::vector<size_t>& todo, const api::SweepPointDone& done) {
    if (ranks == 1) return api::thread_runner(1)(session, todo, done);
    size_t next = 0;
    int running = ranks - 1;  // workers not yet stopped
    std::string buffer;
    while (running > 0) {
      MPI_Status status = wait_for_request();
      int length = 0;
      checked(MPI_Get_count(&status, MPI_CHAR, &length), "MPI_Get_count");
      buffer.assign(size_t(length), '\0');
      checked(MPI_Recv(buffer.data(), length, MPI_CHAR, status.MPI_SOURCE, kResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
              "MPI_Recv");
      if (length > 0) {
        auto [index, point] = report::parse_sweep_point_line(buffer, session.results_header(),
                                                             "MPI rank " + std::to_string(status.MPI_SOURCE));
        done(index, std::move(point));
      }
      if (next < todo.size()) {
        uint64_t index = todo[next++];
        checked(MPI_Send(&index, 1, MPI_UINT64_T, status.MPI_SOURCE, kWork, MPI_COMM_WORLD), "MPI_Send");
      } else {
        uint64_t none = 0;
        checked(MPI_Send(&none, 1, MPI_UINT64_T, status.MPI_SOURCE, kStop, MPI_COMM_WORLD), "MPI_Send");
        --running;
      }
    }
  };
}

void mpi_worker(const MpiSession&, const api::SweepSession& session) {
  std::string result;  // empty: the first request
  while (true) {
    checked(MPI_Send(result.data(), int(result.size()), MPI_CHAR, 0, kResult, MPI_COMM_WORLD), "MPI_Send");
    MPI_Status status;
    uint64_t index = 0;
    checked(MPI_Recv(&index, 1, MPI_UINT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &status), "MPI_Recv");
    if (status.MPI_TAG == kStop) return;
    result = report::sweep_point_line(session.results_header().fingerprint, index, session.evaluate(index));
  }
}

void mpi_abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

}  // namespace wafer::cli
