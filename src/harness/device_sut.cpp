#include "harness/device_sut.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/error.h"

namespace wafer::harness {

std::function<double(int)> linear_service_time(double a_s, double per_sample_s) {
  return [a_s, per_sample_s](int b) { return a_s + per_sample_s * b; };
}

DeviceSut::DeviceSut(DeviceModel model) : model_(std::move(model)) {
  check(model_.max_batch >= 1 && model_.max_batch <= (1 << 20), "device '", model_.name,
        "': max_batch must be in [1, 1048576], got ", model_.max_batch);
  check(model_.batch_timeout_ns >= 0, "device '", model_.name, "': batch timeout must not be negative");
  check(model_.devices >= 1 && model_.devices <= 100000, "device '", model_.name,
        "': devices must be in [1, 100000], got ", model_.devices);
  check(bool(model_.service_time), "device '", model_.name, "': no service-time function");
  service_cache_.assign(size_t(model_.max_batch) + 1, -1);
}

int64_t DeviceSut::service_ns(int batch) {
  int64_t& cached = service_cache_[size_t(batch)];
  if (cached < 0) {
    double s = model_.service_time(batch);
    // Zero time would let duration-bound runs spin forever; absurd times overflow the clock.
    check(std::isfinite(s) && s > 0 && s < 1e6, "device '", model_.name, "': service time for batch ", batch, " is ", s,
          " s (must be positive and finite)");
    cached = std::max<int64_t>(1, std::llround(s * 1e9));
  }
  return cached;
}

void DeviceSut::start(ResponseSink& sink) {
  sink_ = &sink;
  queue_.clear();
  devices_.assign(size_t(model_.devices), Device{});
  now_ = 0;
  flushing_ = false;
  batches_ = busy_total_ns_ = 0;
}

void DeviceSut::issue_query(std::span<const QuerySample> samples) {
  check(sink_ != nullptr, "device '", model_.name, "': issue_query before start");
  flushing_ = false;  // new work: batching may wait for company again
  for (const auto& s : samples) queue_.push_back(Queued{s.id, now_});
}

const DeviceSut::Device* DeviceSut::first_done() const {
  const Device* first = nullptr;
  for (const auto& d : devices_)
    if (!d.running.empty() && (!first || d.busy_until < first->busy_until)) first = &d;
  return first;
}

const DeviceSut::Device* DeviceSut::idle() const {
  for (const auto& d : devices_)
    if (d.running.empty()) return &d;
  return nullptr;
}

int64_t DeviceSut::next_event() const {
  int64_t t = INT64_MAX;
  if (const Device* d = first_done()) t = d->busy_until;
  if (queue_.empty() || !idle()) return t;
  if (int64_t(queue_.size()) >= model_.max_batch || model_.batch_timeout_ns == 0 || flushing_) return std::min(t, now_);
  return std::min(t, std::max(now_, queue_.front().arrival_ns + model_.batch_timeout_ns));
}

void DeviceSut::step() {
  int64_t t = next_event();
  now_ = t;
  // Completions first: a device that finishes now is idle for a batch that starts now.
  if (const Device* done = first_done(); done && done->busy_until == t) {
    Device& d = devices_[size_t(done - devices_.data())];
    sink_->complete_at(d.running, t);
    d.running.clear();
    return;
  }
  Device& d = devices_[size_t(idle() - devices_.data())];
  int b = int(std::min<size_t>(queue_.size(), size_t(model_.max_batch)));
  for (int i = 0; i < b; ++i) {
    d.running.push_back(QuerySampleResponse{queue_.front().id, nullptr, 0});
    queue_.pop_front();
  }
  int64_t dt = service_ns(b);
  d.busy_until = t + dt;
  ++batches_;
  busy_total_ns_ += dt;
}

void DeviceSut::advance_to(int64_t time_ns) {
  check(time_ns >= now_, "device '", model_.name, "': time cannot go backwards (", time_ns, " < ", now_, ")");
  while (next_event() <= time_ns) step();
  now_ = time_ns;
}

int64_t DeviceSut::drain() {
  // Runs out the model as is: a partial batch still waits out its timeout.
  while (next_event() != INT64_MAX) step();
  return now_;
}

}  // namespace wafer::harness
