// What the LLM tests share: a Llama-shaped config small enough to simulate in milliseconds, written once.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdint>

#include <fstream>
#include <string>

namespace wafer::test {

// Llama-shaped, `layers` decoder layers: 4 heads over 2 KV heads, hidden 256 (head_dim 64), MLP 512,
// vocabulary 1,000. Returns the config.json's path (one file per layer count, in the test's temp dir).
inline std::string tiny_llama_file(int64_t layers) {
  // One file per process: ctest runs each test as its own process, several at once, and a shared path is
  // read while another process rewrites it.
  const std::string p = ::testing::TempDir() + "/wafer_tiny_llama_" + std::to_string(layers) + "_layers_" +
                        std::to_string(::getpid()) + ".json";
  std::ofstream(p) << R"({"model_type": "llama", "hidden_size": 256, "num_hidden_layers": )" << layers
                   << R"(, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512,
    "vocab_size": 1000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5})";
  return p;
}

// `count` H100s on a ring: 2 links per chip (one each way) of 50 GB/s, 1 us a step, 10 pJ/byte; no network
// cost. Returns the system file's path (one per chip count and process, as above).
inline std::string h100_ring_file(int count) {
  const std::string p =
      ::testing::TempDir() + "/wafer_h100_ring_" + std::to_string(count) + "_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(p) << "kind: system\nname: ring-" << count << "\nsources: [\"test\"]\nchip: h100\ncount: " << count
                   << "\ntopology: ring\nlinks: {per_chip: 2, bandwidth: 50 GB/s, latency: 1 us, pj_per_byte: 10}\n";
  return p;
}

}  // namespace wafer::test
