#include "harness/loadgen.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "harness/logs.h"
#include "harness/rng.h"
#include "harness/run_record.h"

namespace wafer::harness {

TestResult build_result(const Recorder& rec, const TestSettings& s, const std::string& sut_name,
                        const std::string& qsl_name, int64_t psc, int64_t total, bool virtual_time);

namespace {

constexpr int64_t kMs = 1'000'000;

// Decides the queries of a run: their samples and, for Server, their arrival
// times. SingleStream/MultiStream are "sequential": the next query goes out
// when the previous one completes, until the minimums are met.
class Planner {
 public:
  Planner(const TestSettings& s, std::vector<uint64_t> pool, bool accuracy)
      : s_(s),
        pool_(std::move(pool)),
        accuracy_(accuracy),
        index_rng_(s.sample_index_rng_seed),
        schedule_rng_(s.schedule_rng_seed) {
    if (s.scenario == Scenario::Server) {
      server_queries_ = accuracy ? int64_t(pool_.size()) : planned_count();
    }
  }

  bool sequential() const { return s_.scenario == Scenario::SingleStream || s_.scenario == Scenario::MultiStream; }

  // Next query given the time elapsed since the start; false when the run is complete.
  bool next(int64_t elapsed_ns, int64_t& scheduled_ns, std::vector<uint64_t>& indices) {
    indices.clear();
    scheduled_ns = 0;
    switch (s_.scenario) {
      case Scenario::SingleStream:
      case Scenario::MultiStream: {
        if (accuracy_)
          return take_in_order(size_t(s_.scenario == Scenario::MultiStream ? s_.samples_per_query : 1), indices);
        bool minimums_met = issued_ >= s_.min_query_count && elapsed_ns >= s_.min_duration_ms * kMs;
        bool limit_hit = (s_.max_query_count > 0 && issued_ >= s_.max_query_count) ||
                         (s_.max_duration_ms > 0 && elapsed_ns >= s_.max_duration_ms * kMs);
        if (minimums_met || limit_hit) return false;
        draw(size_t(s_.samples_per_query), indices);
        break;
      }
      case Scenario::Server: {
        if (issued_ >= server_queries_) return false;
        arrival_s_ += schedule_rng_.exponential(s_.target_qps);
        scheduled_ns = int64_t(std::llround(arrival_s_ * 1e9));
        if (!accuracy_ && s_.max_duration_ms > 0 && scheduled_ns > s_.max_duration_ms * kMs) return false;
        if (accuracy_)
          indices.push_back(pool_[size_t(issued_)]);
        else
          draw(1, indices);
        break;
      }
      case Scenario::Offline: {
        if (issued_ > 0) return false;
        if (accuracy_)
          indices = pool_;
        else
          draw(size_t(planned_count()), indices);
        break;
      }
    }
    ++issued_;
    return true;
  }

 private:
  // Server: queries; Offline: samples in its one query. Enough to fill the minimum duration at target_qps.
  int64_t planned_count() const {
    double for_duration = std::ceil(s_.target_qps * double(s_.min_duration_ms) / 1000.0);
    int64_t n = std::max<int64_t>(s_.min_query_count, int64_t(for_duration));
    if (s_.max_query_count > 0 && s_.scenario == Scenario::Server) n = std::min(n, s_.max_query_count);
    return std::max<int64_t>(n, 1);
  }
  void draw(size_t n, std::vector<uint64_t>& out) {
    for (size_t i = 0; i < n; ++i) out.push_back(pool_[index_rng_.below(pool_.size())]);
  }
  bool take_in_order(size_t n, std::vector<uint64_t>& out) {
    if (cursor_ >= pool_.size()) return false;
    for (; n > 0 && cursor_ < pool_.size(); --n) out.push_back(pool_[cursor_++]);
    return true;
  }

  const TestSettings& s_;
  std::vector<uint64_t> pool_;
  bool accuracy_;
  Rng index_rng_, schedule_rng_;
  int64_t issued_ = 0, server_queries_ = 0;
  double arrival_s_ = 0;
  size_t cursor_ = 0;
};

// Waits until `target` samples completed; throws when nothing completes for the response timeout.
void wait_for_completions(const Recorder& rec, int64_t target, const TestSettings& s) {
  int64_t last = rec.completed(), spins = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (last < target) {
    // Yield briefly for low latency, then sleep so waiting leaves the cores to the SUT.
    if (++spins < 64)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    int64_t now_done = rec.completed();
    if (now_done != last) {
      last = now_done;
      last_progress = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_progress > std::chrono::milliseconds(s.response_timeout_ms)) {
      fail("the SUT completed ", last, " of ", target, " samples and then nothing for ", s.response_timeout_ms,
           " ms: giving up");
    }
  }
}

void wait_until(const Recorder& rec, int64_t t_ns) {
  for (;;) {
    int64_t left = t_ns - rec.now_ns();
    if (left <= 0) return;
    // sleep_until overshoots by tens of microseconds: sleep most of the way, then spin.
    if (left > 200'000)
      std::this_thread::sleep_for(std::chrono::nanoseconds(left - 100'000));
    else if (left > 20'000)
      std::this_thread::yield();
  }
}

void run_real(SystemUnderTest& sut, Recorder& rec, Planner& plan, const TestSettings& s) {
  std::vector<uint64_t> indices;
  std::vector<QuerySample> samples;
  int64_t scheduled = 0;
  sut.start(rec);
  if (plan.sequential()) {
    int64_t start = rec.now_ns();
    while (plan.next(rec.now_ns() - start, scheduled, indices)) {
      int64_t t = rec.now_ns();
      rec.add_query(t, indices, samples);
      sut.issue_query(samples);
      wait_for_completions(rec, int64_t(rec.issued_samples()), s);
    }
  } else {
    int64_t start = rec.now_ns();
    while (plan.next(0, scheduled, indices)) {
      rec.add_query(start + scheduled, indices, samples);
      wait_until(rec, start + scheduled);
      rec.mark_issued(rec.now_ns());
      sut.issue_query(samples);
    }
    sut.flush_queries();
    wait_for_completions(rec, int64_t(rec.issued_samples()), s);
  }
  sut.stop();
}

void run_virtual(VirtualTimeSut& sut, Recorder& rec, Planner& plan) {
  std::vector<uint64_t> indices;
  std::vector<QuerySample> samples;
  int64_t scheduled = 0, now = 0;
  sut.start(rec);
  if (plan.sequential()) {
    while (plan.next(now, scheduled, indices)) {
      sut.advance_to(now);
      rec.add_query(now, indices, samples);
      sut.issue_query(samples);
      int64_t done = sut.drain();
      check(rec.completed() == int64_t(rec.issued_samples()), "virtual-time SUT '", sut.name(),
            "' drained with samples still outstanding");
      check(done >= now, "virtual-time SUT '", sut.name(), "' moved time backwards");
      // A query that takes no time would let a duration-bound run loop forever.
      if (done == now) fail("virtual-time SUT '", sut.name(), "' completed a query in zero time");
      now = done;
    }
  } else {
    while (plan.next(0, scheduled, indices)) {
      sut.advance_to(scheduled);
      rec.add_query(scheduled, indices, samples);
      sut.issue_query(samples);
    }
    sut.flush_queries();
    sut.drain();
    check(rec.completed() == int64_t(rec.issued_samples()), "virtual-time SUT '", sut.name(),
          "' drained with samples still outstanding");
  }
  sut.stop();
}

std::vector<uint64_t> shuffled_prefix(size_t total, size_t n, uint64_t seed) {
  std::vector<uint64_t> all(total);
  for (size_t i = 0; i < total; ++i) all[i] = i;
  Rng rng(seed);
  for (size_t i = 0; i < n && i + 1 < total; ++i) std::swap(all[i], all[i + rng.below(total - i)]);
  all.resize(n);
  return all;
}

}  // namespace

TestResult run_test(SystemUnderTest& sut, QuerySampleLibrary& qsl, const TestSettings& s, const LogOptions& logs) {
  validate(s);
  int64_t total = int64_t(qsl.total_sample_count());
  check(total > 0, "QSL '", qsl.name(), "' has no samples");
  int64_t psc = s.performance_sample_count_override > 0 ? s.performance_sample_count_override
                                                        : int64_t(qsl.performance_sample_count());
  check(psc > 0, "performance sample count must be positive");
  int64_t loaded = std::min(psc, total);  // an oversized count is reported as invalid, not run with
  bool accuracy = s.mode == TestMode::AccuracyOnly;
  auto* vsut = dynamic_cast<VirtualTimeSut*>(&sut);

  Recorder rec(accuracy);
  auto run_set = [&](std::vector<uint64_t> pool) {
    qsl.load_samples(pool);
    Planner plan(s, pool, accuracy);
    try {
      if (vsut)
        run_virtual(*vsut, rec, plan);
      else
        run_real(sut, rec, plan, s);
    } catch (...) {
      qsl.unload_samples(pool);
      throw;
    }
    qsl.unload_samples(pool);
  };
  if (accuracy) {
    // Every sample once, in sets that fit in memory. Each set starts the SUT afresh (a virtual
    // clock restarts at zero); accuracy mode reports no performance metrics, only the responses.
    for (int64_t first = 0; first < total; first += loaded) {
      std::vector<uint64_t> pool;
      for (int64_t i = first; i < std::min(total, first + loaded); ++i) pool.push_back(uint64_t(i));
      run_set(std::move(pool));
    }
  } else {
    run_set(shuffled_prefix(size_t(total), size_t(loaded), s.qsl_rng_seed));
  }
  TestResult r = build_result(rec, s, sut.name(), qsl.name(), psc, total, vsut != nullptr);
  if (!logs.out_dir.empty()) write_logs(logs.out_dir, r, rec);
  return r;
}

}  // namespace wafer::harness
