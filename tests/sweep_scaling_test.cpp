// Sweeps in parts: the thread pool, shards, the append-only results file (resume, merge) and the
// HTML Pareto plot. Every way of running a sweep must give the serial run's points bit for bit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "api/sweep.h"
#include "core/error.h"
#include "core/parallel_for.h"
#include "graph_test_util.h"
#include "npu/report/report.h"
#include "npu/report/sweep_report.h"
#include "npu/report/sweep_results.h"
#include "npu/sweep.h"

using wafer::test::error_of;

using namespace wafer;
using namespace wafer::npu;
using ::testing::HasSubstr;

namespace {

// A pure function of the design, with numbers whose decimal forms do not terminate.
SimResult fake_result(const HardwareDesc& hw) {
  if (hw.matrix.rows == 8) throw Error("layer conv: tile does not fit");
  SimResult r;
  r.latency_s = 1.0 / (3.0 * hw.matrix.rows * hw.matrix.cols);
  r.energy_j = std::sqrt(double(hw.matrix.rows)) / 7.0 + hw.clock_hz * 1e-12;
  r.area_mm2 = hw.area_mm2();
  r.throughput_samples_per_s = 1.0 / r.latency_s;
  r.cycles = uint64_t(hw.matrix.rows) * 1000 + hw.matrix.cols;
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("wafer_sweep_test_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST(ParallelFor, RunsEveryIndexOnce) {
  for (int jobs : {1, 2, 4, 0}) {
    std::vector<std::atomic<int>> runs(1000);
    parallel_for(runs.size(), jobs, [&](size_t i) { ++runs[i]; });
    for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << "jobs " << jobs << " index " << i;
  }
  parallel_for(0, 4, [](size_t) { FAIL() << "no items: no calls"; });
}

TEST(ParallelFor, RethrowsTheErrorAndStops) {
  for (int jobs : {1, 3}) {
    std::atomic<int> calls{0};
    auto work = [&](size_t i) {
      ++calls;
      if (i == 5) throw Error("point 5 broke");
    };
    EXPECT_THAT(error_of([&] { parallel_for(10000, jobs, work); }), HasSubstr("point 5 broke"));
    EXPECT_LT(calls.load(), 10000);  // no new items after the error
  }
}

TEST(ParallelFor, JobsCount) {
  EXPECT_EQ(resolve_jobs(3), 3);
  EXPECT_GE(resolve_jobs(0), 1);
  EXPECT_THAT(error_of([] { resolve_jobs(-1); }), HasSubstr("--jobs -1"));
}

TEST(NpuSweep, ThreadsGiveTheSerialResult) {
  auto axes = parse_sweep_axes({"cores.matrix.rows=8,16,32,64", "cores.matrix.cols=16,32,64", "clock=700 MHz,1 GHz"});
  auto serial = run_sweep("edge-npu", axes, fake_result);
  ASSERT_EQ(serial.size(), 24u);
  EXPECT_FALSE(serial[0].ok);  // rows 8: the fake's "does not fit"
  for (int jobs : {2, 4, 0}) {
    std::atomic<size_t> calls{0}, last{0};
    auto parallel = run_sweep(
        "edge-npu", axes, fake_result,
        [&](size_t i, size_t n) {
          ++calls;
          last = i;
          EXPECT_EQ(n, 24u);
        },
        jobs);
    EXPECT_EQ(calls.load(), 24u);
    EXPECT_EQ(last.load(), 24u);
    EXPECT_EQ(report::sweep_json(axes, parallel).dump(), report::sweep_json(axes, serial).dump()) << jobs;
    EXPECT_EQ(report::sweep_csv(axes, parallel), report::sweep_csv(axes, serial)) << jobs;
  }
}

TEST(NpuSweep, ShardsPartitionTheGrid) {
  SweepShard s = parse_sweep_shard("2/5");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_TRUE(s.contains(7));
  EXPECT_FALSE(s.contains(8));
  EXPECT_EQ(parse_sweep_shard("0/1").count, 1u);
  for (const char* bad : {"5/5", "1/0", "a/2", "1", "-1/2", "1/2/3", "/2", "1/", ""})
    EXPECT_THAT(error_of([&] { parse_sweep_shard(bad); }), HasSubstr("--shard '" + std::string(bad) + "'")) << bad;
  EXPECT_THAT(error_of([] { parse_sweep_shard("4/4"); }), HasSubstr("0..3"));
  const size_t n = 3;
  for (size_t point = 0; point < 20; ++point) {
    int owners = 0;
    for (size_t i = 0; i < n; ++i) owners += SweepShard{i, n}.contains(point);
    EXPECT_EQ(owners, 1) << point;
  }
}

namespace {

report::SweepResultsHeader test_header(const std::vector<SweepAxis>& axes, size_t total) {
  report::SweepResultsHeader h;
  h.fingerprint = "0123456789abcdef";
  h.model = "resnet20";
  h.hw = "edge-npu";
  h.batch = 2;
  h.axes = axes;
  h.total = total;
  return h;
}

}  // namespace

TEST(SweepResults, PointsReadBackBitForBit) {
  auto axes = parse_sweep_axes({"cores.matrix.rows=8,16,32", "clock=700 MHz,1 GHz"});
  auto points = run_sweep("edge-npu", axes, fake_result);
  auto header = test_header(axes, points.size());
  std::string text = report::sweep_results_header_line(header) + "\n";
  for (size_t i = points.size(); i-- > 0;) text += report::sweep_point_line(header.fingerprint, i, points[i]) + "\n";
  report::SweepResults r = report::parse_sweep_results(text, "r.jsonl");
  ASSERT_TRUE(r.header);
  EXPECT_EQ(r.header->fingerprint, header.fingerprint);
  EXPECT_EQ(r.header->model, "resnet20");
  EXPECT_EQ(r.header->batch, 2);
  EXPECT_EQ(r.header->total, 6u);
  EXPECT_EQ(r.header->axes[1].values, (std::vector<std::string>{"700 MHz", "1 GHz"}));
  EXPECT_EQ(r.complete_bytes, text.size());
  ASSERT_EQ(r.points.size(), points.size());
  std::vector<SweepPoint> back;
  for (auto& [i, p] : r.points) back.push_back(p);
  mark_pareto(back);
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(back[i].ok, points[i].ok);
    EXPECT_EQ(back[i].values, points[i].values);
    EXPECT_EQ(back[i].error, points[i].error);
    // Exact equality on purpose: a merged sweep must print the serial one's digits.
    EXPECT_EQ(back[i].latency_s, points[i].latency_s);
    EXPECT_EQ(back[i].energy_j, points[i].energy_j);
    EXPECT_EQ(back[i].area_mm2, points[i].area_mm2);
    EXPECT_EQ(back[i].throughput_samples_per_s, points[i].throughput_samples_per_s);
    EXPECT_EQ(back[i].cycles, points[i].cycles);
  }
  EXPECT_EQ(report::sweep_csv(axes, back), report::sweep_csv(axes, points));
  EXPECT_EQ(report::sweep_table(axes, back), report::sweep_table(axes, points));
}

TEST(SweepResults, AKilledWritersLastLineIsIgnored) {
  auto axes = parse_sweep_axes({"cores.matrix.rows=16,32"});
  auto points = run_sweep("edge-npu", axes, fake_result);
  auto header = test_header(axes, 2);
  std::string complete = report::sweep_results_header_line(header) + "\n" +
                         report::sweep_point_line(header.fingerprint, 1, points[1]) + "\n";
  std::string partial = report::sweep_point_line(header.fingerprint, 0, points[0]);
  report::SweepResults r = report::parse_sweep_results(complete + partial.substr(0, 30), "r.jsonl");
  EXPECT_EQ(r.points.size(), 1u);
  EXPECT_TRUE(r.points.count(1));
  EXPECT_EQ(r.complete_bytes, complete.size());
  // Killed within the header: nothing of the sweep yet.
  EXPECT_FALSE(report::parse_sweep_results(complete.substr(0, 10), "r.jsonl").header);
}

TEST(SweepResults, BadLinesAreErrorsNamingFileAndLine) {
  auto axes = parse_sweep_axes({"cores.matrix.rows=16,32"});
  auto points = run_sweep("edge-npu", axes, fake_result);
  auto header = test_header(axes, 2);
  const std::string head = report::sweep_results_header_line(header) + "\n";
  EXPECT_THAT(error_of([&] { report::parse_sweep_results(head + "{oops\n", "r.jsonl"); }), HasSubstr("r.jsonl:2"));
  EXPECT_THAT(error_of([&] { report::parse_sweep_results("index,valid\n", "s.csv"); }),
              HasSubstr("s.csv:1: not a wafer sweep results file"));
  std::string other = report::sweep_point_line("fedcba9876543210", 0, points[0]) + "\n";
  EXPECT_THAT(error_of([&] { report::parse_sweep_results(head + other, "r.jsonl"); }),
              HasSubstr("r.jsonl:2: a point of another sweep"));
  // A point whose values are not those of its grid index (points[1] has rows=32, index 0 has 16).
  std::string moved = report::sweep_point_line(header.fingerprint, 0, points[1]) + "\n";
  EXPECT_THAT(error_of([&] { report::parse_sweep_results(head + moved, "r.jsonl"); }),
              HasSubstr("cores.matrix.rows=32, the grid says 16"));
  std::string outside = report::sweep_point_line(header.fingerprint, 2, points[1]) + "\n";
  EXPECT_THAT(error_of([&] { report::parse_sweep_results(head + outside, "r.jsonl"); }),
              HasSubstr("outside the grid of 2"));
  auto another = header;
  another.fingerprint = "fedcba9876543210";
  EXPECT_THAT(error_of([&] { report::check_same_sweep(another, header, "x.jsonl"); }),
              HasSubstr("x.jsonl: results of another sweep"));
}

TEST(SweepResults, ResumingCutsTheIncompleteLineAndAppends) {
  auto dir = temp_dir("writer");
  const std::string path = (dir / "r.jsonl").string();
  auto axes = parse_sweep_axes({"cores.matrix.rows=16,32,64"});
  auto points = run_sweep("edge-npu", axes, fake_result);
  auto header = test_header(axes, 3);
  {
    report::SweepResultsWriter w(path, header, nullptr);
    w.append(2, points[2]);
    w.append(0, points[0]);
  }
  std::ofstream(path, std::ios::app) << R"({"sweep":"0123456789abcdef","ind)";  // killed mid-line
  report::SweepResults before = report::read_sweep_results(path);
  EXPECT_EQ(before.points.size(), 2u);
  {
    report::SweepResultsWriter w(path, header, &before);
    w.append(1, points[1]);
  }
  report::SweepResults after = report::read_sweep_results(path);
  ASSERT_EQ(after.points.size(), 3u);
  EXPECT_EQ(after.complete_bytes, read_file(path).size());
  EXPECT_EQ(after.points.at(1).latency_s, points[1].latency_s);
  auto another = header;
  another.fingerprint = "fedcba9876543210";
  EXPECT_THAT(error_of([&] { report::SweepResultsWriter w(path, another, &after); }),
              HasSubstr(path + ": results of another sweep"));
  EXPECT_FALSE(report::read_sweep_results((dir / "missing.jsonl").string()).header);
  std::filesystem::remove_all(dir);
}

TEST(SweepHtml, OneMarkerPerValidDesignAndTheTwoMetricFront) {
  auto axes = parse_sweep_axes({"cores.matrix.rows=8,16,32,64", "cores.matrix.cols=16,64"});
  auto points = run_sweep("edge-npu", axes, fake_result);
  std::string html = report::sweep_html("sweep of m over edge-npu (batch 1)", axes, points, {"latency", "energy"});
  std::regex circle(
      R"re(<circle class="design" data-index="(\d+)" data-x="([^"]+)" data-y="([^"]+)" data-pareto="(\d)")re");
  std::set<size_t> drawn, on_front;
  std::vector<std::vector<double>> xy;
  std::vector<size_t> index;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), circle); it != std::sregex_iterator(); ++it) {
    size_t i = std::stoul((*it)[1]);
    drawn.insert(i);
    if ((*it)[4] == "1") on_front.insert(i);
    // Each marker carries its design's numbers in the plotted units.
    EXPECT_EQ(std::stod((*it)[2]), points[i - 1].latency_s * 1e3);
    EXPECT_EQ(std::stod((*it)[3]), points[i - 1].energy_j * 1e3);
  }
  std::set<size_t> valid, expected_front;
  for (size_t i = 0; i < points.size(); ++i)
    if (points[i].ok) {
      valid.insert(i + 1);
      xy.push_back({points[i].latency_s, points[i].energy_j});
      index.push_back(i + 1);
    }
  EXPECT_EQ(drawn, valid);
  EXPECT_EQ(valid.size(), 6u);  // rows 8 does not fit
  // The front in (latency, energy), by pairwise dominance here: 64x16 is as fast as 16x64 and
  // costs more energy, 16x16 is slower than 16x64 for the same energy.
  for (size_t a = 0; a < xy.size(); ++a) {
    bool dominated = false;
    for (size_t b = 0; b < xy.size(); ++b)
      dominated |= xy[b][0] <= xy[a][0] && xy[b][1] <= xy[a][1] && (xy[b][0] < xy[a][0] || xy[b][1] < xy[a][1]);
    if (!dominated) expected_front.insert(index[a]);
  }
  EXPECT_EQ(on_front, expected_front);
  EXPECT_GE(on_front.size(), 2u);
  EXPECT_LT(on_front.size(), valid.size());
  EXPECT_THAT(html, HasSubstr("<script>"));
  for (const char* fetch : {"src=", "href=", "<link", "@import"})  // self-contained: nothing fetched
    EXPECT_THAT(html, ::testing::Not(HasSubstr(fetch)));
  EXPECT_THAT(html, HasSubstr("invalid: "));  // the table lists the invalid design too
}

TEST(SweepHtml, PlotAxesFlag) {
  auto a = report::parse_sweep_plot_axes("x=throughput,y=energy");
  EXPECT_EQ(a.x, "throughput");
  EXPECT_EQ(a.y, "energy");
  EXPECT_EQ(report::parse_sweep_plot_axes("y=area,x=cycles").x, "cycles");
  EXPECT_THAT(error_of([] { report::parse_sweep_plot_axes("x=speed,y=energy"); }), HasSubstr("unknown metric 'speed'"));
  EXPECT_THAT(error_of([] { report::parse_sweep_plot_axes("x=latency"); }), HasSubstr("give both axes"));
  EXPECT_THAT(error_of([] { report::parse_sweep_plot_axes("x=latency,y=latency"); }), HasSubstr("the same metric"));
  EXPECT_THAT(error_of([] { report::parse_sweep_plot_axes("z=latency,y=area"); }), HasSubstr("'z' is not an axis"));
}

// The real compiler and simulator on threads, and a resumed sweep, against the serial sweep.
TEST(ApiSweep, ThreadsAndResumeGiveTheSerialResult) {
  api::SweepOptions o;
  o.m.model = std::string(WAFER_SOURCE_DIR) + "/models/resnet20";
  o.hw.preset_or_path = "tpu-v1";
  o.sets = {"cores.matrix.rows=32,64,128", "cores.scratchpad.size=2 MiB,24 MiB"};
  const std::string serial = [&] {
    auto run = api::sweep(o);
    return report::sweep_json(run.axes, run.points).dump();
  }();
  o.jobs = 3;
  auto threaded = api::sweep(o);
  EXPECT_EQ(report::sweep_json(threaded.axes, threaded.points).dump(), serial);

  auto dir = temp_dir("resume");
  const std::string path = (dir / "r.jsonl").string();
  api::SweepSession session(o);
  api::SweepPart part;
  part.results_path = path;
  part.shard = SweepShard{0, 2};  // points 0, 2, 4
  auto first = api::run_sweep_part(session, part, api::thread_runner(2));
  EXPECT_EQ(first.evaluated, 3u);
  // Kill after the first point and in the middle of the second line.
  std::string text = read_file(path);
  size_t second = text.find('\n', text.find('\n') + 1) + 1;
  std::filesystem::resize_file(path, second + 25);
  part.shard.reset();
  part.resume = true;
  auto resumed = api::run_sweep_part(session, part, api::thread_runner(2));
  EXPECT_EQ(resumed.reused, 1u);
  EXPECT_EQ(resumed.evaluated, 5u);
  auto run = api::assemble_sweep(session.axes(), session.size(), std::move(resumed.points), "");
  EXPECT_EQ(report::sweep_json(run.axes, run.points).dump(), serial);
  auto merged = api::merge_sweep_results({path});
  EXPECT_EQ(report::sweep_json(merged.run.axes, merged.run.points).dump(), serial);
  EXPECT_EQ(merged.header.model, "resnet20");

  // Another grid over the same file is refused; so is a merge with points missing.
  api::SweepOptions other = o;
  other.sets = {"cores.matrix.rows=32,64"};
  api::SweepSession other_session(other);
  EXPECT_NE(other_session.results_header().fingerprint, session.results_header().fingerprint);
  EXPECT_THAT(error_of([&] { api::run_sweep_part(other_session, part, api::thread_runner(1)); }),
              HasSubstr(path + ": results of another sweep"));
  const std::string half = (dir / "half.jsonl").string();
  part = {};
  part.results_path = half;
  part.shard = SweepShard{1, 2};
  api::run_sweep_part(session, part, api::thread_runner(1));
  EXPECT_THAT(error_of([&] { api::merge_sweep_results({half}); }),
              HasSubstr("3 of the sweep's 6 design points are missing (#1, 3, 5)"));
  std::filesystem::remove_all(dir);
}
