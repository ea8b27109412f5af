// Each subcommand lives in its own file and registers itself on the app.
// A command's callback returns the process exit code:
// 0 ok, 1 a check failed, 2 bad usage or bad input (thrown errors map to 2).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace wafer::cli {

using CommandFn = std::function<int()>;

// Registers `sub` so that main runs `fn` when it is chosen.
void set_action(CLI::App* sub, CommandFn fn);

void add_check_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_hw_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_scalesim_command(CLI::App& app);
void add_sim_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_sweep_merge_command(CLI::App& app);
void add_compile_command(CLI::App& app);
void add_generate_command(CLI::App& app);

}  // namespace wafer::cli
