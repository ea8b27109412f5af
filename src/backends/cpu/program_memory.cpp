// The cpu backend's Program: memory planning for its buffers and planned tensors.
#include "backends/cpu/program.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backends/cpu/isa.h"
#include "backends/cpu/threading.h"
#include "backends/reference/interpreter.h"
#include "backends/reference/node_profiler.h"
#include "ir/cost.h"

namespace wafer::cpu {

using dnnl::memory;

// Greedy liveness-based assignment of planned buffers to blocks: a block is
// reused by a later buffer once its last reader has run (best fit by size).
// Plain tensors that fast steps write are planned buffers too (graph outputs
// excepted: each run hands fresh ones to the caller); a view's reads extend the
// live range of the tensor whose storage it shares.
void Program::plan_memory() {
  std::vector<char> is_output(tensors_.size(), 0);
  for (int o : output_ids_) is_output[size_t(o)] = 1;
  std::vector<int> first(tensors_.size(), -1), last(tensors_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (int t : steps_[i].alloc_tensors)
      if (first[size_t(t)] < 0) first[size_t(t)] = int(i);
    for (int t : steps_[i].uses) {
      int r = root_of(t);
      last[size_t(r)] = std::max(last[size_t(r)], int(i));
    }
  }
  std::vector<int> tensor_buffer(tensors_.size(), -1);
  for (size_t t = 0; t < tensors_.size(); ++t) {
    const TensorInfo& info = tensor_info_[t];
    if (first[t] < 0 || is_output[t] || info.persistent || info.alias_of >= 0) continue;
    int b = new_buffer(size_t(element_count(info.dims)) * dtype_size(info.dtype));
    buffer_first_[size_t(b)] = first[t];
    buffer_last_[size_t(b)] = std::max(first[t], last[t]);
    tensor_buffer[t] = b;
    tensor_info_[t].planned = true;
  }
  for (auto& s : steps_) std::erase_if(s.alloc_tensors, [&](int t) { return tensor_info_[size_t(t)].planned; });

  buffer_ptr_.resize(buffer_bytes_.size(), nullptr);
  std::vector<std::vector<int>> starts(steps_.size() + 1), ends(steps_.size() + 1);
  for (size_t b = 0; b < buffer_bytes_.size(); ++b) {
    if (buffer_first_[b] < 0) continue;  // constant
    starts[size_t(buffer_first_[b])].push_back(int(b));
    ends[size_t(buffer_last_[b])].push_back(int(b));
  }
  struct Block {
    size_t bytes;
    std::vector<int> users;
  };
  std::vector<Block> blocks;
  std::multimap<size_t, int> free_blocks;  // bytes -> block
  std::vector<int> block_of(buffer_bytes_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (int b : starts[i]) {
      size_t need = buffer_bytes_[size_t(b)];
      auto it = free_blocks.lower_bound(need);
      int blk;
      if (!ablation_.memory_reuse && it != free_blocks.end() && it->first <= need * 2) {
        blk = it->second;
        free_blocks.erase(it);
      } else {
        blk = int(blocks.size());
        blocks.push_back({need, {}});
      }
      block_of[size_t(b)] = blk;
    }
    for (int b : ends[i]) {
      int blk = block_of[size_t(b)];
      free_blocks.emplace(blocks[size_t(blk)].bytes, blk);
    }
  }
  size_t first_block = blocks_.size();
  for (const auto& blk : blocks) {
    auto mem = std::shared_ptr<std::byte[]>(new (std::align_val_t(64)) std::byte[blk.bytes],
                                            [](std::byte* p) { ::operator delete[](p, std::align_val_t(64)); });
    planned_bytes_ += blk.bytes;
    blocks_.push_back(std::move(mem));
  }
  for (size_t b = 0; b < buffer_bytes_.size(); ++b)
    if (block_of[b] >= 0) buffer_ptr_[b] = blocks_[first_block + size_t(block_of[b])].get();
  for (size_t t = 0; t < tensors_.size(); ++t)
    if (int b = tensor_buffer[t]; b >= 0)
      tensors_[t] = Tensor::view(blocks_[first_block + size_t(block_of[size_t(b)])], 0, tensor_info_[t].dtype,
                                 tensor_info_[t].dims);
}

}  // namespace wafer::cpu
