#include "harness/backend_sut.h"

#include <cstring>

#include "core/error.h"

namespace wafer::harness {

BackendSut::BackendSut(const Graph& graph, const ModelQsl& qsl, BackendSutOptions options)
    : graph_(graph), qsl_(qsl), options_(std::move(options)) {
  check(options_.workers >= 1 && options_.workers <= 256, "workers must be in [1, 256], got ", options_.workers);
  check(options_.max_batch >= 1 && options_.max_batch <= 65536, "max batch must be in [1, 65536], got ",
        options_.max_batch);
  check(options_.batch_timeout_ns >= 0, "batch timeout must not be negative");
  check(options_.max_batch == 1 || qsl_.batchable(), "max batch ", options_.max_batch,
        " needs a model whose inputs share a symbolic batch dim 0");
  make_backend(options_.backend);  // fails early, naming the known backends
}

BackendSut::~BackendSut() {
  stop();
}

void BackendSut::start(ResponseSink& sink) {
  stop();
  sink_ = &sink;
  stopping_ = flushing_ = false;
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker(); });
}

void BackendSut::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void BackendSut::issue_query(std::span<const QuerySample> samples) {
  auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    flushing_ = false;
    for (const auto& s : samples) queue_.push_back(Pending{s, now});
  }
  cv_.notify_all();
}

void BackendSut::flush_queries() {
  {
    std::lock_guard lock(mutex_);
    flushing_ = true;
  }
  cv_.notify_all();
}

void BackendSut::worker() {
  CompileOptions probe = options_.compile;
  auto backend = make_backend(options_.backend, &probe);
  std::map<int, std::unique_ptr<Executable>> exes;  // per batch size, per worker: executables need not be thread-safe
  std::vector<Pending> batch;
  std::unique_lock lock(mutex_);
  size_t max_batch = size_t(options_.max_batch);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left
    if (queue_.size() < max_batch && options_.batch_timeout_ns > 0 && !flushing_ && !stopping_) {
      auto deadline = queue_.front().arrival + std::chrono::nanoseconds(options_.batch_timeout_ns);
      cv_.wait_until(lock, deadline, [&] { return stopping_ || flushing_ || queue_.size() >= max_batch; });
      if (queue_.empty()) continue;  // another worker took them
    }
    size_t b = std::min(queue_.size(), max_batch);
    batch.assign(queue_.begin(), queue_.begin() + std::ptrdiff_t(b));
    queue_.erase(queue_.begin(), queue_.begin() + std::ptrdiff_t(b));
    lock.unlock();
    run_batch(*backend, exes, batch);
    lock.lock();
  }
}

void BackendSut::run_batch(Backend& backend, std::map<int, std::unique_ptr<Executable>>& exes,
                           std::vector<Pending>& batch) {
  int b = int(batch.size());
  std::vector<std::vector<uint8_t>> data(batch.size());
  try {
    auto& exe = exes[b];
    if (!exe) {
      CompileOptions opts = options_.compile;
      for (const auto& [k, v] : qsl_.sample_symbols()) opts.symbols.emplace(k, v);
      if (qsl_.batchable()) opts.symbols[qsl_.batch_symbol()] = b;
      exe = backend.compile(graph_, opts);
    }
    // Inputs: one sample as is, or samples concatenated along dim 0.
    std::vector<Tensor> inputs;
    const auto& first = qsl_.sample(batch[0].sample.index);
    for (size_t i = 0; i < first.size(); ++i) {
      if (b == 1) {
        inputs.push_back(first[i]);
        continue;
      }
      Dims dims = first[i].dims();
      dims[0] *= b;
      Tensor t(first[i].dtype(), dims);
      size_t bytes = first[i].nbytes();
      for (int k = 0; k < b; ++k) {
        const Tensor& src = qsl_.sample(batch[size_t(k)].sample.index)[i];
        check(src.nbytes() == bytes, "samples of different sizes cannot be batched");
        std::memcpy(static_cast<std::byte*>(t.raw()) + size_t(k) * bytes, src.raw(), bytes);
      }
      inputs.push_back(std::move(t));
    }
    auto outputs = exe->run(inputs);
    for (const Tensor& out : outputs) {
      bool split = b > 1 && out.rank() >= 1 && out.dim(0) % b == 0 && out.dim(0) > 0;
      size_t slice = split ? out.nbytes() / size_t(b) : out.nbytes();
      const auto* base = static_cast<const uint8_t*>(out.raw());
      for (int k = 0; k < b; ++k) {
        const uint8_t* p = base + (split ? size_t(k) * slice : 0);
        data[size_t(k)].insert(data[size_t(k)].end(), p, p + slice);
      }
    }
  } catch (const std::exception& e) {
    sink_->report_error(name() + ": batch of " + std::to_string(b) + ": " + e.what());
    for (auto& d : data) d.clear();
  }
  std::vector<QuerySampleResponse> responses(batch.size());
  for (size_t k = 0; k < batch.size(); ++k)
    responses[k] = QuerySampleResponse{batch[k].sample.id, data[k].data(), data[k].size()};
  sink_->complete(responses);
}

}  // namespace wafer::harness
