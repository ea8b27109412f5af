// `wafer sweep --mpi` under mpirun: rank 0 hands out design points one at a time to the ranks that
// ask for work (dynamic load balancing: a rank that drew cheap points asks again sooner), collects
// their results and writes the output; the other ranks only evaluate. Built from tools/wafer/mpi/
// (the one place that includes mpi.h; only the CLI links MPI) or, without MPI, from a stub whose
// every call says so.
#pragma once

#include "api/sweep.h"

namespace wafer::cli {

// MPI_Init on construction, MPI_Finalize on destruction.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// Rank 0's runner: sends each point of `todo` to the next rank that asks, passing each returned point
// to done() as it arrives, and stops every worker at the end. Alone (mpirun -n 1) it evaluates the
// points itself.
api::SweepRunner mpi_coordinator_runner(const MpiSession& mpi);

// Ranks > 0: asks rank 0 for points and returns their results until told to stop.
void mpi_worker(const MpiSession& mpi, const api::SweepSession& session);

// After an error on any rank: ends every rank of the job (the others would wait for it for ever).
[[noreturn]] void mpi_abort(int exit_code);

}  // namespace wafer::cli
