#include "model_options.h"

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

}  // namespace wafer::cli
