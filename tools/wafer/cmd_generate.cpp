// wafer generate MODEL --prompt 1,2,3 --max-new-tokens N: text generation with a KV cache on a decoder
// exported in the text-generation-with-past convention (the stage is api::generate).
#include <iostream>

#include "api/generate.h"
#include "api/run.h"
#include "commands.h"
#include "model_options.h"
#include "profile_report.h"

namespace wafer::cli {

void add_generate_command(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "Generate tokens with a decoder-only model and a KV cache");
  struct Opts : api::GenerateOptions {
    std::vector<std::string> prompt;
    bool json = false;
    int profile_top = 25;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX decoder (inputs input_ids, attention_mask, position_ids, past_key_values.*)")
      ->required();
  sub->add_option("--prompt", o->prompt,
                  "Prompt token ids, e.g. 1,2,3; repeat it for a batch of different prompts of one length")
      ->required()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--max-new-tokens", o->max_new_tokens, "Tokens to generate per sequence")->capture_default_str();
  sub->add_option("--batch", o->batch, "Sequences, each starting from the prompt (default: one per --prompt)");
  sub->add_option("--backend", o->backend, "Backend: cpu or reference")->capture_default_str();
  sub->add_option("--threads", o->threads, "Threads (0 = all cores)")->capture_default_str();
  add_precision_option(sub, o->precision);
  sub->add_option("--temperature", o->sampling.temperature, "Sampling temperature (0: greedy)")->capture_default_str();
  sub->add_option("--top-k", o->sampling.top_k, "Sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  sub->add_option("--top-p", o->sampling.top_p, "Sample among the most likely tokens holding probability p")
      ->capture_default_str();
  sub->add_option("--seed", o->sampling.seed, "Seed of the sampler")->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Untimed prefill + decode runs first")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object: tokens, ttft_ms, tpot_ms, tokens_per_s, ...");
  sub->add_flag("--profile", o->profile,
                "Time every step of the prefill and of the decode program (tables of the slowest)");
  sub->add_option("--profile-top", o->profile_top, "Rows of the --profile table (0 = every step)")
      ->capture_default_str();
  set_action(sub, [o]() {
    for (const auto& p : o->prompt) o->prompts.push_back(api::parse_token_list(p));
    api::GenerateResult r = api::generate(*o);
    note_if_busy(o->backend);  // after the run: an error stays one line
    if (o->json) {
      nlohmann::json j = api::generate_json(*o, r);
      if (o->profile) {
        j["profile"] = api::profile_json(r.profile);
        j["prefill_profile"] = api::profile_json(r.prefill_profile);
      }
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "model " << o->model << " on " << o->backend << ": load+compile " << r.load_ms << " ms, cache "
              << r.cache_positions << " positions\n";
    for (size_t b = 0; b < r.tokens.size(); ++b) {
      std::cout << "  sequence " << b << ":";
      for (int64_t t : r.tokens[b]) std::cout << " " << t;
      std::cout << "\n";
    }
    std::cout << "TTFT " << r.ttft_ms << " ms, TPOT " << r.tpot_ms << " ms, " << r.tokens_per_s << " tokens/s overall, "
              << r.decode_tokens_per_s << " tokens/s in decode\n";
    if (o->profile) {
      std::cout << "\nprefill (one run over the prompts):\n";
      print_profile(std::cout, r.prefill_profile, o->profile_top);
      std::cout << "\ndecode (one token per sequence a run):\n";
      print_profile(std::cout, r.profile, o->profile_top);
    }
    return 0;
  });
}

}  // namespace wafer::cli
