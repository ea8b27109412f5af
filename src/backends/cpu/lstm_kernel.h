// LSTM in its default inference form on the cpu backend (lstm_kernel.cpp).
#pragma once

#include "ir/graph.h"

namespace wafer::cpu {

class Program;

// Lowers an fp32 forward LSTM with the default activations and no peepholes, clip or sequence_lens;
// false (the reference kernel runs it) for every other form.
bool lower_lstm(Program& p, const Node& node);

}  // namespace wafer::cpu
