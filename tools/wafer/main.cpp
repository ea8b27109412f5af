// wafer: the command-line front end. Subcommands are in cmd_*.cpp.
#include <malloc.h>

#include <iostream>
#include <map>
#include <string>

#include "api/errors.h"
#include "commands.h"
#include "core/error.h"

namespace wafer::cli {

namespace {
std::map<CLI::App*, CommandFn>& actions() {
  static std::map<CLI::App*, CommandFn> a;
  return a;
}
}  // namespace

void set_action(CLI::App* sub, CommandFn fn) {
  actions()[sub] = std::move(fn);
}

}  // namespace wafer::cli

int main(int argc, char** argv) {
  using namespace wafer::cli;
  using wafer::api::one_line;
#ifdef __GLIBC__
  // Blocks of 1 MiB and more (weights, activations) get their own mappings, returned to the
  // system when freed. glibc's default raises this threshold after each such free, so the
  // importer's and packer's freed weights would stay in a fragmented heap: BERT peaked at
  // ~600 MB instead of ~370.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  CLI::App app{"wafer: ONNX compiler, CPU inference, NPU simulator and MLPerf-style harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "wafer 0.1");
  add_inspect_command(app);
  add_run_command(app);
  add_check_command(app);
  add_hw_command(app);
  add_bench_command(app);
  add_scalesim_command(app);
  add_sim_command(app);
  add_sweep_command(app);
  add_sweep_merge_command(app);
  add_compile_command(app);
  add_generate_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors follow the same one-line convention as every other error.
    std::cerr << "wafer: error: " << one_line(e.what()) << " (see 'wafer --help' or 'wafer COMMAND --help')\n";
    return 2;
  }
  try {
    for (auto* sub : app.get_subcommands())
      if (auto it = actions().find(sub); it != actions().end()) return it->second();
    return 2;
  } catch (const wafer::Error& e) {
    std::cerr << "wafer: error: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "wafer: error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "wafer: error: internal error: " << one_line(e.what()) << "\n";
    return 2;
  }
}
