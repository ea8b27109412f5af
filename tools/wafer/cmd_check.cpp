// wafer check CASE_DIR...: runs cases in ONNX test layout (model.onnx plus
// test_data_set_*/input_*.pb and output_*.pb) on a backend and compares.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "backends/backend.h"
#include "commands.h"
#include "core/compare.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "passes/pass_manager.h"

namespace wafer::cli {
namespace fs = std::filesystem;

namespace {

enum class Outcome { Pass, Fail, Unsupported, Error };
const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Pass: return "PASS";
    case Outcome::Fail: return "FAIL";
    case Outcome::Unsupported: return "UNSUPPORTED";
    case Outcome::Error: return "ERROR";
  }
  return "?";
}

struct CaseResult {
  std::string name;
  Outcome outcome = Outcome::Pass;
  double max_abs = 0, max_rel = 0, rel_l2 = 0;
  std::string detail;
  double ms = 0;
};

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
  // input_10 after input_9: sort by the number after the prefix.
  auto num = [&](const fs::path& p) {
    std::string s = p.stem().string().substr(prefix.size());
    return s.empty() || !std::isdigit(uint8_t(s[0])) ? 0 : std::stoi(s);
  };
  std::sort(files.begin(), files.end(), [&](const fs::path& a, const fs::path& b) { return num(a) < num(b); });
  return files;
}

// With max_rel_l2 > 0 an output passes when its relative L2 error is within it
// (the accuracy measure for whole models); otherwise elementwise rtol/atol.
CaseResult run_case(const fs::path& dir, const std::string& backend_spec, Tolerance tol, double max_rel_l2,
                    bool optimize_graph) {
  CaseResult r;
  r.name = dir.filename().string();
  auto start = std::chrono::steady_clock::now();
  try {
    fs::path model_path = dir / "model.onnx";
    Model model = import_onnx_file(model_path.string());
    if (optimize_graph) optimize(*model.graph);
    CompileOptions options;
    auto backend = make_backend(backend_spec, &options);
    auto exe = backend->compile(*model.graph, options);
    auto sets = sorted_files(dir, "test_data_set_");
    check(!sets.empty(), dir.string(), ": no test_data_set_* folders");
    for (const auto& set : sets) {
      std::vector<Tensor> inputs;
      auto input_files = sorted_files(set, "input_");
      const auto& names = model.graph->inputs;
      // Inputs are matched by name when the files carry names, else by order.
      std::map<std::string, Tensor> by_name;
      std::vector<Tensor> by_order;
      for (const auto& f : input_files) {
        NamedTensor nt = read_tensor_pb(f.string());
        by_order.push_back(nt.tensor);
        if (!nt.name.empty()) by_name[nt.name] = nt.tensor;
      }
      if (by_name.size() == names.size() && std::all_of(names.begin(), names.end(), [&](const std::string& n) {
            return by_name.count(n) != 0;
          })) {
        for (const auto& n : names) inputs.push_back(by_name[n]);
      } else {
        inputs = by_order;
      }
      // ONNX 1.12 writes bfloat16 test tensors with data_type uint16 (same
      // bits); read them as the bfloat16 the model declares.
      for (size_t i = 0; i < inputs.size() && i < names.size(); ++i) {
        auto declared = model.graph->type_of(names[i]);
        if (declared && declared->dtype == DType::BFloat16 && inputs[i].dtype() == DType::UInt16)
          inputs[i] = inputs[i].bitcast(DType::BFloat16);
      }
      auto outputs = exe->run(inputs);
      auto expected_files = sorted_files(set, "output_");
      check(expected_files.size() == outputs.size(), "model produced ", outputs.size(), " outputs, test data has ",
            expected_files.size());
      for (size_t i = 0; i < outputs.size(); ++i) {
        Tensor expected = read_tensor_pb(expected_files[i].string()).tensor;
        if (expected.dtype() == DType::UInt16 && outputs[i].dtype() == DType::BFloat16)
          expected = expected.bitcast(DType::BFloat16);
        Comparison c = compare_tensors(expected, outputs[i], tol);
        r.max_abs = std::max(r.max_abs, c.max_abs);
        r.max_rel = std::max(r.max_rel, c.max_rel);
        r.rel_l2 = std::max(r.rel_l2, c.rel_l2);
        if (max_rel_l2 > 0 && (c.ok || c.message.rfind("element", 0) == 0)) {
          c.ok = c.rel_l2 <= max_rel_l2;
          if (!c.ok) c.message = "relative L2 error " + std::to_string(c.rel_l2) + " over " + std::to_string(max_rel_l2);
        }
        if (!c.ok && r.outcome == Outcome::Pass) {
          r.outcome = Outcome::Fail;
          r.detail = set.filename().string() + " output " + std::to_string(i) + " ('" + model.graph->outputs[i] +
                     "'): " + c.message;
        }
      }
    }
  } catch (const UnsupportedError& e) {
    r.outcome = Outcome::Unsupported;
    r.detail = e.what();
  } catch (const Error& e) {
    r.outcome = Outcome::Error;
    r.detail = e.what();
  } catch (const std::exception& e) {
    r.outcome = Outcome::Error;
    r.detail = std::string("internal error: ") + e.what();
  }
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Expands arguments: a folder with model.onnx is a case; any other folder is
// searched one level down for cases.
std::vector<fs::path> find_cases(const std::vector<std::string>& args) {
  std::vector<fs::path> cases;
  for (const auto& a : args) {
    fs::path p(a);
    if (!fs::is_directory(p)) fail(a, ": not a folder");
    if (fs::exists(p / "model.onnx")) {
      cases.push_back(p);
      continue;
    }
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) found.push_back(e.path());
    check(!found.empty(), a, ": no model.onnx in it or in its sub-folders");
    std::sort(found.begin(), found.end());
    cases.insert(cases.end(), found.begin(), found.end());
  }
  return cases;
}

std::set<std::string> read_list(const std::string& path) {
  std::ifstream in(path);
  check(bool(in), path, ": cannot read");
  std::set<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) names.insert(line);
  }
  return names;
}

}  // namespace

void add_check_command(CLI::App& app) {
  auto* sub = app.add_subcommand("check", "Run ONNX-layout test cases on a backend and compare outputs");
  struct Opts {
    std::vector<std::string> dirs;
    std::string backend = "reference";
    double rtol = 1e-3, atol = 1e-7, rel_l2 = 0;
    bool json = false, quiet = false, strict = false, optimize = false;
    std::string expect_pass, write_passing, filter;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("cases", o->dirs, "Case folders (model.onnx + test_data_set_*), or folders of them")->required();
  sub->add_option("--backend", o->backend, "Backend: reference, cpu, npu:PRESET")->capture_default_str();
  sub->add_option("--rtol", o->rtol, "Relative tolerance")->capture_default_str();
  sub->add_option("--atol", o->atol, "Absolute tolerance")->capture_default_str();
  sub->add_option("--rel-l2", o->rel_l2,
                  "Pass an output when its relative L2 error is at most this (instead of rtol/atol per element)");
  sub->add_option("--filter", o->filter, "Only cases whose name contains this text");
  sub->add_option("--expect-pass", o->expect_pass,
                  "File listing cases that must pass; exit 1 if any of them does not (regression gate)");
  sub->add_option("--write-passing", o->write_passing, "Write the names of passing cases to this file");
  sub->add_flag("--strict", o->strict, "Count unsupported cases as failures");
  sub->add_flag("--optimize", o->optimize, "Run the standard optimization pipeline before compiling");
  sub->add_flag("--quiet", o->quiet, "Print only cases that do not pass, and the summary");
  sub->add_flag("--json", o->json, "Print one JSON object with every case's result");
  set_action(sub, [o]() {
    auto cases = find_cases(o->dirs);
    std::vector<CaseResult> results;
    for (const auto& c : cases) {
      if (!o->filter.empty() && c.filename().string().find(o->filter) == std::string::npos) continue;
      CaseResult r = run_case(c, o->backend, {o->rtol, o->atol}, o->rel_l2, o->optimize);
      if (!o->json && (!o->quiet || r.outcome != Outcome::Pass)) {
        std::cout << std::left << std::setw(12) << outcome_name(r.outcome) << r.name;
        if (r.outcome == Outcome::Pass || r.outcome == Outcome::Fail)
          std::cout << std::setprecision(3) << "  max_abs=" << r.max_abs << " max_rel=" << r.max_rel
                    << " rel_l2=" << r.rel_l2;
        if (!r.detail.empty()) std::cout << "  " << r.detail;
        std::cout << "\n";
      }
      results.push_back(std::move(r));
    }
    int counts[4] = {0, 0, 0, 0};
    for (const auto& r : results) counts[int(r.outcome)]++;
    int exit_code = counts[int(Outcome::Fail)] + counts[int(Outcome::Error)] > 0 ? 1 : 0;
    if (o->strict && counts[int(Outcome::Unsupported)]) exit_code = 1;
    std::vector<std::string> regressions;
    if (!o->expect_pass.empty()) {
      // With a gate list, exactly the listed cases must pass; others are informational.
      exit_code = 0;
      auto expected = read_list(o->expect_pass);
      std::set<std::string> seen;
      for (const auto& r : results) {
        seen.insert(r.name);
        if (expected.count(r.name) && r.outcome != Outcome::Pass) regressions.push_back(r.name);
      }
      for (const auto& name : expected)
        if (!seen.count(name) && o->filter.empty()) regressions.push_back(name + " (missing)");
      if (!regressions.empty()) exit_code = 1;
    }
    if (!o->write_passing.empty()) {
      std::ofstream out(o->write_passing);
      for (const auto& r : results)
        if (r.outcome == Outcome::Pass) out << r.name << "\n";
    }
    if (o->json) {
      nlohmann::json j;
      j["backend"] = o->backend;
      j["passed"] = counts[0];
      j["failed"] = counts[1];
      j["unsupported"] = counts[2];
      j["errors"] = counts[3];
      j["regressions"] = regressions;
      for (const auto& r : results)
        j["cases"].push_back({{"name", r.name}, {"result", outcome_name(r.outcome)}, {"max_abs", r.max_abs},
                              {"max_rel", r.max_rel}, {"rel_l2", r.rel_l2}, {"detail", r.detail}, {"ms", r.ms}});
      std::cout << j.dump(2) << "\n";
    } else {
      for (const auto& name : regressions) std::cout << "REGRESSION  " << name << "\n";
      std::cout << "check (" << o->backend << "): " << counts[0] << " passed, " << counts[1] << " failed, "
                << counts[3] << " errors, " << counts[2] << " unsupported, of " << results.size() << " cases";
      if (!o->expect_pass.empty()) std::cout << "; " << regressions.size() << " regressions against " << o->expect_pass;
      std::cout << "\n";
    }
    return exit_code;
  });
}

}  // namespace wafer::cli
