#include "model_options.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/error.h"

namespace wafer::cli {

void add_precision_option(CLI::App* sub, Precision& precision) {
  sub->add_option_function<std::string>(
      "--precision",
      [&precision](const std::string& text) {
        try {
          precision = parse_precision(text);
        } catch (const Error& e) {
          throw CLI::ValidationError(e.what());  // parse errors take the usage-error path
        }
      },
      "auto | fp32 | bf16 | fp16 | int8. auto: fp32 to run a model (the target's float type where it has no "
      "fp32), the hardware's best datatype to simulate one (docs/ARCHITECTURE.md)");
}

void note_if_busy(const std::string& backend) {
  if (backend != "cpu" || std::getenv("OMP_WAIT_POLICY")) return;
  double load[1] = {0};
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (getloadavg(load, 1) != 1 || cores < 1 || load[0] <= double(cores)) return;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", load[0]);
  std::cerr << "wafer: note: load average " << text << " on " << cores
            << " cores; OpenMP threads spin while they wait, which is slow when other processes want the cores: "
               "OMP_WAIT_POLICY=passive is faster then (docs/PERFORMANCE.md)\n";
}

}  // namespace wafer::cli
