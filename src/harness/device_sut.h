// A device in virtual time: a discrete-event model of one accelerator with
// its input queue and dynamic batching. Samples queue on arrival; when the
// device is idle it starts a batch of up to max_batch queued samples, at once
// if the batch is full (or the timeout is zero, or the harness flushed), else
// when the oldest queued sample has waited batch_timeout. A batch of b
// samples occupies the device for service_time(b) seconds, then all of its
// samples complete.
//
// service_time is pluggable: the NPU simulator's latency for each batch size,
// or an analytic model such as a + b * batch.
//
// `devices` identical devices share the queue (data parallelism, as an 8-GPU
// server runs one copy of the model per GPU in MLPerf): a batch starts on any
// idle device by the same rule, lowest index first.
#pragma once

#include <deque>
#include <functional>
#include <vector>

#include "harness/sut.h"

namespace wafer::harness {

struct DeviceModel {
  std::string name = "device";
  int max_batch = 1;
  int64_t batch_timeout_ns = 0;
  std::function<double(int batch)> service_time;  // seconds, > 0
  int devices = 1;
};

// service_time(b) = a + b * per_sample (seconds).
std::function<double(int)> linear_service_time(double a_s, double per_sample_s);

class DeviceSut : public VirtualTimeSut {
 public:
  explicit DeviceSut(DeviceModel model);
  std::string name() const override { return model_.name; }
  void start(ResponseSink& sink) override;
  void issue_query(std::span<const QuerySample> samples) override;
  void flush_queries() override { flushing_ = true; }
  void advance_to(int64_t time_ns) override;
  int64_t drain() override;

  // Statistics of the last run (busy time summed over the devices).
  int64_t batches() const { return batches_; }
  int64_t busy_ns() const { return busy_total_ns_; }

 private:
  struct Queued {
    uint64_t id;
    int64_t arrival_ns;
  };
  int64_t service_ns(int batch);
  // The time the next event would happen, or INT64_MAX when none is pending.
  int64_t next_event() const;
  void step();  // processes the event at next_event()

  DeviceModel model_;
  std::vector<int64_t> service_cache_;  // ns per batch size, filled on first use
  struct Device {
    std::vector<QuerySampleResponse> running;  // its batch; empty when idle
    int64_t busy_until = 0;
  };
  // The busy device that finishes first (nullptr: none busy), and the first idle one (nullptr: none).
  const Device* first_done() const;
  const Device* idle() const;
  ResponseSink* sink_ = nullptr;
  std::deque<Queued> queue_;
  std::vector<Device> devices_;
  int64_t now_ = 0;
  bool flushing_ = false;
  int64_t batches_ = 0, busy_total_ns_ = 0;
};

}  // namespace wafer::harness
