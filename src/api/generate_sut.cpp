#include "api/generate_sut.h"

#include "core/error.h"

namespace wafer::api {

GenerateSut::GenerateSut(const GenerateOptions& options, const harness::LlmDataset& data)
    : options_(options), data_(data) {
  check(!data.requests.empty(), "the LLM data set is empty");
  session_ = std::make_unique<GenerateSession>(options_);
  name_ = "generate:" + options_.backend + " " + options_.model;
  GenerateOptions warm = request_options(data.requests.front());
  warm.warmup = 1;  // the cpu backend compiles its prefill and decode programs on their first run
  session_->run(warm);
}

GenerateSut::~GenerateSut() {
  stop();
}

GenerateOptions GenerateSut::request_options(const harness::LlmRequest& r) const {
  GenerateOptions o = options_;
  // Prompt ids are arbitrary (timing does not depend on them): a fixed pattern within the vocabulary.
  std::vector<int64_t> prompt(size_t(r.prompt_tokens));
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int64_t((i * 7 + 1) % uint64_t(session_->vocab()));
  o.prompts = {prompt};
  o.batch = 1;
  o.max_new_tokens = int(r.output_tokens);
  o.warmup = 0;
  return o;
}

void GenerateSut::start(harness::ResponseSink& sink) {
  stop();
  sink_ = &sink;
  stopping_ = false;
  thread_ = std::thread([this] { worker(); });
}

void GenerateSut::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GenerateSut::issue_query(std::span<const harness::QuerySample> samples) {
  {
    std::lock_guard lock(mutex_);
    queue_.insert(queue_.end(), samples.begin(), samples.end());
  }
  cv_.notify_one();
}

void GenerateSut::worker() {
  for (;;) {
    harness::QuerySample s;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      s = queue_.front();
      queue_.pop_front();
    }
    harness::QuerySampleResponse resp{s.id, nullptr, 0, 0};
    try {
      check(s.index < data_.requests.size(), "sample index ", s.index, " outside the data set");
      GenerateResult r = session_->run(request_options(data_.requests[s.index]), [&] { sink_->first_token(s.id); });
      resp.n_tokens = int64_t(r.tokens.at(0).size());
    } catch (const std::exception& e) {
      sink_->report_error(e.what());
    }
    sink_->complete({&resp, 1});
  }
}

}  // namespace wafer::api
