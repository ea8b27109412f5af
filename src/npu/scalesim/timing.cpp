#include "npu/scalesim/timing.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace wafer::scalesim {

namespace {

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The spatial/temporal mapping of a layer onto the array for one dataflow
// (topology_utils.py, calc_spatio_temporal_params): Sr operand rows are spread
// over the array rows, Sc over its columns, T is streamed in time.
struct Mapping {
  int64_t R = 0, C = 0;    // array rows, columns
  int64_t Sr = 0, Sc = 0;  // spatial extents
  int64_t T = 0;           // temporal extent
  int64_t row_folds = 0, col_folds = 0;
  int64_t rows_per_fold = 0;  // demand-matrix rows (= cycles) per fold
  int64_t util_cycles = 0;    // per-fold cycle count SCALE-Sim divides by for "compute utilisation"
  int64_t rows_used(int64_t fr) const { return std::min(R, Sr - fr * R); }
  int64_t cols_used(int64_t fc) const { return std::min(C, Sc - fc * C); }
};

Mapping make_mapping(const Config& cfg, const Layer& l) {
  Mapping m;
  m.R = cfg.array_height;
  m.C = cfg.array_width;
  const int64_t px = l.ofmap_pixels(), win = l.window(), nf = l.num_filters;
  switch (cfg.dataflow) {
    case Dataflow::kOS:
      // systolic_compute_os.py: ifmap rows T + (C-1) drain, skewed by R-1; the
      // ofmap block is read out after T-1 idle rows and skewed by C-1.
      m.Sr = px, m.Sc = nf, m.T = win;
      m.rows_per_fold = m.T + m.R + m.C - 2;
      m.util_cycles = m.T + m.R + m.C - 2;
      break;
    case Dataflow::kWS:
      // systolic_compute_ws.py: R rows to load weights, T input rows, C-1 to
      // drain, skewed by R-1. The utilisation denominator is the filter demand
      // (R + R + C + T - 2 rows) plus its C-1 column skew.
      m.Sr = win, m.Sc = nf, m.T = px;
      m.rows_per_fold = m.T + 2 * m.R + m.C - 2;
      m.util_cycles = m.T + 2 * m.R + 2 * m.C - 3;
      break;
    case Dataflow::kIS:
      // systolic_compute_is.py: the mirror image of ws with the ifmap held.
      m.Sr = win, m.Sc = px, m.T = nf;
      m.rows_per_fold = m.T + 2 * m.R + m.C - 2;
      m.util_cycles = m.T + 2 * m.R + 2 * m.C - 3;
      break;
  }
  m.row_folds = ceil_div(m.Sr, m.R);
  m.col_folds = ceil_div(m.Sc, m.C);
  return m;
}

// ---------------------------------------------------------------------------
// USER-bandwidth read-buffer model (read_buffer.py). The operand's prefetch
// order is cut into "lines" of `bw` words; an active window of A lines is
// resident, and each miss shifts the window by P lines and costs one prefetch
// of ceil(prefetch_words / bw) lines that starts right after the previous one.
// Misses are found per demand row from the contiguous range of prefetch
// positions that row touches, so the walk is O(rows), not O(elements).

struct ReadBuffer {
  int64_t bw = 1;
  int64_t set = 1;              // words per hashed set: ceil(SRAM words / 100)
  int64_t L = 1, A = 1, P = 0;  // sets in the operand, active window, shift per prefetch
  int64_t lines_per_prefetch = 0;
  int64_t initial_lines = 0;
  int64_t start = 0;           // first set of the active window
  int64_t last_prefetch = -1;  // cycle the latest prefetch completes
  int64_t prefetches = 0;      // new prefetches after the initial fill
  bool double_count = false;   // SCALE-Sim before 22f88b1 (2025-02-25) also added every wait once more

  // `valid` words fill the hashed sets (padding entries are skipped there);
  // `fetched` words, padding included, are what the DRAM lines carry.
  void init(int64_t valid, int64_t fetched, int64_t sram_words, int64_t bandwidth) {
    bw = bandwidth;
    set = std::max<int64_t>(1, ceil_div(sram_words, 100));
    const int64_t active = (sram_words + 1) / 2, pf = sram_words - active;
    L = valid / set + 1;  // the hashed buffer always ends with one (possibly empty) set
    A = std::min(ceil_div(active, set), L);
    P = std::min(ceil_div(pf, set), L - A);
    lines_per_prefetch = ceil_div(pf, bw);
    initial_lines = std::min(ceil_div(active, bw), ceil_div(fetched, bw));
    start = 0;
    last_prefetch = -1;  // the initial fill is timed to complete just before cycle 0
    prefetches = 0;
  }
  bool resident(int64_t line) const { return A >= L || ((line - start) % L + L) % L < A; }

  // Serves the lines [lo, hi] requested at `cycle`; returns the extra cycles the
  // requesting row is held, with SCALE-Sim's accounting (a positive wait is
  // added twice to the row's offset; a negative one is subtracted once).
  // One miss: the window moves on by P sets and a prefetch is chained after the previous one.
  void prefetch(int64_t cycle, int64_t& offset) {
    start = (start + P) % L;
    last_prefetch += lines_per_prefetch + 1;  // one cycle per line plus the port latency
    ++prefetches;
    const int64_t wait = last_prefetch - (cycle + offset);
    if (wait > 0) offset += wait;
    if (double_count) offset += wait;
  }
  int64_t serve(int64_t lo, int64_t hi, int64_t cycle) {
    int64_t offset = 1;  // hit latency
    int64_t cur = lo;
    for (int64_t guard = 0; guard < 4 * L + 8; ++guard) {
      while (!resident(cur)) {
        prefetch(cycle, offset);
        if (++guard > 4 * L + 8) break;
      }
      if (A >= L) break;
      int64_t next = cur + (A - ((cur - start) % L + L) % L);
      if (hi < next) break;
      cur = next;
    }
    return offset - 1;
  }
  int64_t dram_words() const { return (initial_lines + prefetches * lines_per_prefetch) * bw; }

  // Convolution ifmaps repeat addresses (im2col) and may hold -1 (outputs that SCALE-Sim's rounding
  // places past the input edge). SCALE-Sim's sets hold addresses, so a demanded address hits when
  // any set in the window holds it. Then positions are served by address: `addr` gives the address
  // at each position (-1: no request), `set_of` its set, and `occ[first[a] .. first[a+1])` the sets
  // holding address a, ascending.
  const std::vector<int64_t>* addr = nullptr;
  std::vector<int32_t> set_of, occ;
  std::vector<int64_t> first;

  void index_addresses(const std::vector<int64_t>& addresses, int64_t num_addresses) {
    addr = &addresses;
    set_of.resize(addresses.size());
    first.assign(static_cast<size_t>(num_addresses) + 1, 0);
    int64_t valid = 0;
    for (size_t p = 0; p < addresses.size(); ++p) {
      set_of[p] = static_cast<int32_t>(valid / set);
      if (addresses[p] >= 0) ++valid, ++first[static_cast<size_t>(addresses[p]) + 1];
    }
    for (size_t a = 1; a < first.size(); ++a) first[a] += first[a - 1];
    occ.resize(static_cast<size_t>(valid));
    std::vector<int64_t> fill(first.begin(), first.end() - 1);
    for (size_t p = 0; p < addresses.size(); ++p)
      if (addresses[p] >= 0) occ[static_cast<size_t>(fill[static_cast<size_t>(addresses[p])]++)] = set_of[p];
  }
  bool holds(int64_t a) const {
    if (A >= L) return true;
    const auto b = occ.begin() + first[static_cast<size_t>(a)], e = occ.begin() + first[static_cast<size_t>(a) + 1];
    const int64_t end = start + A;
    auto it = std::lower_bound(b, e, start);
    if (it != e && *it < end) return true;
    return end > L && b != e && *b < end - L;
  }
  // Serves positions [lo, hi] (in valid-position order) requested at `cycle`.
  int64_t serve_positions(int64_t lo, int64_t hi, int64_t cycle) {
    if (addr == nullptr) return serve(lo / set, hi / set, cycle);
    const int64_t s_lo = set_of[static_cast<size_t>(lo)], s_hi = set_of[static_cast<size_t>(hi)];
    if (A >= L || ((s_lo - start) % L + L) % L + (s_hi - s_lo) < A) return 0;  // all resident: hits
    int64_t offset = 1;
    for (int64_t p = lo; p <= hi; ++p) {
      const int64_t a = (*addr)[static_cast<size_t>(p)];
      if (a < 0) continue;
      for (int64_t guard = 0; !holds(a) && guard <= L; ++guard) prefetch(cycle, offset);
    }
    return offset - 1;
  }
};

// Start of anti-diagonal d in the diagonal roll-out of an M x W matrix (the
// "ISSUE #15" prefetch order of the skewed operands).
int64_t diag_start(int64_t d, int64_t M, int64_t W) {
  int64_t a = std::min(d, M);
  int64_t s = a * (a + 1) / 2 + (d - a) * M;
  if (d >= W) {
    int64_t b = d - W + 1;
    s -= b * (b - 1) / 2;
  }
  return s;
}

// A skewed (streamed) operand: the prefetch order stacks one T x W block per
// fold index and rolls the stack out along anti-diagonals; demand row q of a
// fold touches one anti-diagonal, i.e. a contiguous run of positions. The last
// block has only `last_used` valid columns: its padding entries sit in the
// roll-out but not in the hashed sets, so positions are counted in valid entries.
struct Streamed {
  int64_t Tlen = 0, W = 0, blocks = 0, pre = 0, last_used = 0;
  int64_t words() const { return Tlen * blocks * W; }  // fetched, padding included
  int64_t valid() const { return Tlen * ((blocks - 1) * W + last_used); }
  // Padding entries of anti-diagonal d whose column is < c (all of them for c = W).
  int64_t pad_before(int64_t d, int64_t c) const {
    if (last_used >= W) return 0;
    const int64_t M = Tlen * blocks;
    // padding: row r in the last block, column c' = d - r >= last_used, c' < c, r <= M - 1
    const int64_t cmin = std::max({last_used, d - (M - 1), int64_t{0}});
    const int64_t cmax = std::min({c - 1, d - (blocks - 1) * Tlen, W - 1});
    return std::max<int64_t>(0, cmax - cmin + 1);
  }
  // Padding entries before anti-diagonal d (sum over the earlier diagonals).
  int64_t pad_prefix(int64_t d) const {
    if (last_used >= W) return 0;
    // padding cells (r, c) with r in the last block, c >= last_used and r + c < d
    const int64_t r0 = (blocks - 1) * Tlen, r1 = Tlen * blocks - 1;
    int64_t n = 0;
    // count pairs: for each column c in [last_used, W-1], rows r in [r0, min(r1, d - 1 - c)]
    for (int64_t c = last_used; c < W; ++c) n += std::max<int64_t>(0, std::min(r1, d - 1 - c) - r0 + 1);
    return n;
  }
  bool range(int64_t block, int64_t used, int64_t q, int64_t& lo, int64_t& hi) const {
    int64_t clo = std::max<int64_t>(0, q - pre - (Tlen - 1)), chi = std::min(used - 1, q - pre);
    if (clo > chi) return false;
    const int64_t M = Tlen * blocks;
    int64_t d = block * Tlen + q - pre;
    int64_t base = diag_start(d, M, W) + std::min(d, M - 1) - d - pad_prefix(d);
    lo = base + clo - pad_before(d, clo);
    hi = base + chi - pad_before(d, chi);
    return true;
  }
};

// A stationary operand: column-fold blocks of an Sr x C matrix, row-major, no
// roll-out; the R rows of a fold are pushed bottom row first.
struct Stationary {
  int64_t Sr = 0, C = 0, Sc = 0, R = 0;
  int64_t words() const { return Sr * C * ceil_div(Sc, C); }  // fetched, padding included
  int64_t valid() const { return Sr * Sc; }
  bool range(int64_t fc, int64_t fr, int64_t q, int64_t& lo, int64_t& hi) const {
    if (q >= R) return false;
    int64_t k = fr * R + (R - 1 - q);
    if (k >= Sr) return false;
    int64_t cu = std::min(C, Sc - fc * C);
    lo = fc * C * Sr + k * cu;
    hi = lo + cu - 1;
    return true;
  }
};

// USER-bandwidth write buffer (write_buffer.py). Results are staged in lines
// of `bw` words; once more than the drain half is occupied, a drain of up to
// ceil(drain/bw) lines starts (one line per cycle, from the oldest undrained
// line). A drain always flushes the partly filled current line too, and the
// space it frees is counted from full lines except for its own last line, as
// SCALE-Sim does. A store that finds no free space while a drain is running
// holds the row until that drain ends. Stores are handled in runs between
// these events, so a row costs O(1) plus the runs of lines a drain crosses.
struct WriteBuffer {
  int64_t bw = 1, total = 0, active = 0, drain = 0;
  int64_t free_space = 0, drain_end = 0, line_fill = 0, accesses = 0;
  double first_drain = 0, last_drain = 0;
  bool drained = false;
  std::vector<std::pair<int64_t, int64_t>> runs;  // (fill, line count) of staged lines, oldest first
  size_t run = 0;                                 // first undrained run
  int64_t run_off = 0;                            // lines of it already drained

  void init(int64_t sram_words, int64_t bandwidth) {
    bw = bandwidth;
    total = sram_words;
    active = (total + 1) / 2;
    drain = total - active;
    free_space = total;
  }
  void push_lines(int64_t fill, int64_t count) {
    if (count <= 0) return;
    if (!runs.empty() && runs.back().first == fill && run < runs.size())
      runs.back().second += count;
    else
      runs.emplace_back(fill, count);
  }
  void store(int64_t k) {
    free_space -= k;
    const int64_t t = line_fill + k;
    push_lines(bw, t / bw);
    line_fill = t % bw;
  }
  // Flushes the current line and drains up to ceil(drain/bw) lines from `start`; returns the end cycle.
  int64_t drain_from(int64_t start) {
    if (line_fill > 0) push_lines(line_fill, 1), line_fill = 0;
    int64_t want = ceil_div(drain, bw), lines = 0, last_fill = bw;
    while (want > 0 && run < runs.size()) {
      const int64_t take = std::min(want, runs[run].second - run_off);
      lines += take, want -= take, run_off += take;
      last_fill = runs[run].first;
      if (run_off == runs[run].second) ++run, run_off = 0;
    }
    if (lines == 0) return drain_end;
    const int64_t data = lines * bw - (bw - last_fill);
    accesses += data;
    free_space += data;
    if (!drained) first_drain = static_cast<double>(start), drained = true;
    last_drain = static_cast<double>(start + lines - 1);
    return start + lines - 1;
  }
  // Serves a row of n results at `cycle`; returns the cycles the row is held.
  int64_t serve(int64_t n, int64_t cycle) {
    int64_t cur = cycle;
    while (n > 0) {
      if (cur < drain_end) {
        const int64_t k = free_space > 0 ? std::min(n, free_space) : 1;
        store(k);
        n -= k;
        if (free_space <= 0) cur = drain_end;
      } else {
        const int64_t k = free_space >= active ? std::min(n, free_space - active + 1) : 1;
        store(k);
        n -= k;
        if (free_space < active) drain_end = drain_from(cur);
      }
    }
    return cur - cycle;
  }
  // After the last row: drain everything left, back to back.
  void flush(int64_t cycle) {
    if (line_fill > 0) push_lines(line_fill, 1), line_fill = 0;
    while (run < runs.size()) cycle = drain_from(cycle) + 1;
  }
};

// The ifmap address at each valid prefetch position, when the layer's im2col
// repeats addresses or reads past the input edge (else empty: positions are
// distinct addresses). operand_matrix.py: pixel p, window element k.
std::vector<int64_t> ifmap_addresses(const Layer& l, Dataflow df, const Mapping& m, const Streamed& s) {
  const int64_t oh = l.ofmap_h(), ow = l.ofmap_w();
  const bool repeats = (oh > 1 && l.filter_h > l.stride_h) || (ow > 1 && l.filter_w > l.stride_w);
  const bool past_edge =
      (oh - 1) * l.stride_h + l.filter_h > l.ifmap_h || (ow - 1) * l.stride_w + l.filter_w > l.ifmap_w;
  std::vector<int64_t> out;
  if (!repeats && !past_edge) return out;
  check(s.valid() <= 400'000'000 && m.Sr * m.Sc <= 400'000'000, "scalesim: layer '", l.name,
        "': its ifmap has too many positions for the USER-bandwidth address index (limit 4e8)");
  const int64_t W = l.ifmap_w, Cin = l.channels, SC = l.filter_w * Cin;
  auto address = [&](int64_t p, int64_t k) -> int64_t {
    const int64_t ir = p / ow * l.stride_h, ic = p % ow * l.stride_w;
    const int64_t cr = k / SC, cc = k % SC / Cin, ch = k % Cin;
    if (cr + ir >= l.ifmap_h || cc + ic >= W) return -1;
    return ((ir + cr) * W + ic + cc) * Cin + ch;
  };
  if (df == Dataflow::kIS) {  // stationary: column-fold blocks of the win x px matrix, row-major
    out.reserve(static_cast<size_t>(m.Sr * m.Sc));
    for (int64_t fc = 0; fc < m.col_folds; ++fc)
      for (int64_t k = 0; k < m.Sr; ++k)
        for (int64_t j = 0; j < m.cols_used(fc); ++j) out.push_back(address(fc * m.C + j, k));
    return out;
  }
  // streamed (os, ws): the stacked T x R blocks rolled out along anti-diagonals, padding skipped
  const int64_t M = s.Tlen * s.blocks;
  out.reserve(static_cast<size_t>(s.valid()));
  for (int64_t d = 0; d < M + s.W - 1; ++d) {
    for (int64_t r = std::min(d, M - 1); r >= std::max<int64_t>(0, d - s.W + 1); --r) {
      const int64_t c = d - r, b = r / s.Tlen, t = r % s.Tlen;
      if (b == s.blocks - 1 && c >= s.last_used) continue;
      out.push_back(df == Dataflow::kWS ? address(t, b * m.R + c) : address(b * m.R + c, t));
    }
  }
  return out;
}

// Walks every demand row once and returns the stall cycles; fills DRAM figures.
int64_t user_stalls(const Config& cfg, const Layer& layer, const Mapping& m, LayerResult& r) {
  const int64_t bw = cfg.bandwidth;
  ReadBuffer ifb, fib;
  Streamed s_if, s_fi;
  Stationary st;
  const int64_t ifmap_sram = cfg.ifmap_sram_kb * 1024, filter_sram = cfg.filter_sram_kb * 1024;
  switch (cfg.dataflow) {
    case Dataflow::kOS:
      s_if = {m.T, m.R, m.row_folds, 0, m.rows_used(m.row_folds - 1)};
      s_fi = {m.T, m.C, m.col_folds, 0, m.cols_used(m.col_folds - 1)};
      ifb.init(s_if.valid(), s_if.words(), ifmap_sram, bw);
      fib.init(s_fi.valid(), s_fi.words(), filter_sram, bw);
      break;
    case Dataflow::kWS:
      s_if = {m.T, m.R, m.row_folds, m.R, m.rows_used(m.row_folds - 1)};
      st = {m.Sr, m.C, m.Sc, m.R};
      ifb.init(s_if.valid(), s_if.words(), ifmap_sram, bw);
      fib.init(st.valid(), st.words(), filter_sram, bw);
      break;
    case Dataflow::kIS:
      st = {m.Sr, m.C, m.Sc, m.R};
      s_fi = {m.T, m.R, m.row_folds, m.R, m.rows_used(m.row_folds - 1)};
      ifb.init(st.valid(), st.words(), ifmap_sram, bw);
      fib.init(s_fi.valid(), s_fi.words(), filter_sram, bw);
      break;
  }
  ifb.double_count = fib.double_count = cfg.legacy_double_wait;
  std::vector<int64_t> if_addr;
  if (ifb.A < ifb.L) {  // only a buffer that cannot hold the whole ifmap ever misses
    if_addr = ifmap_addresses(layer, cfg.dataflow, m, s_if);
    if (!if_addr.empty()) {
      const int64_t valid = std::count_if(if_addr.begin(), if_addr.end(), [](int64_t a) { return a >= 0; });
      const int64_t fetched = cfg.dataflow == Dataflow::kIS ? st.words() : s_if.words();
      ifb.init(valid, fetched, ifmap_sram, bw);
      ifb.index_addresses(if_addr, layer.ifmap_h * layer.ifmap_w * layer.channels);
    }
  }
  WriteBuffer ofb;
  ofb.init(cfg.ofmap_sram_kb * 1024, bw);
  // Ofmap demand of a fold: `pre` empty rows, then a block whose rows [vlo, vhi] carry
  // cols_used results each, skewed by one row per column (systolic_compute_*.py).
  const bool os = cfg.dataflow == Dataflow::kOS;
  const int64_t of_pre = os ? m.T - 1 : 2 * m.R - 1;
  int64_t stalls = 0, row = 0, last_out = 0;
  const int64_t last_row = m.row_folds * m.col_folds * m.rows_per_fold - 1;
  for (int64_t fc = 0; fc < m.col_folds; ++fc) {
    for (int64_t fr = 0; fr < m.row_folds; ++fr) {
      const int64_t ru = m.rows_used(fr), cu = m.cols_used(fc);
      for (int64_t q = 0; q < m.rows_per_fold; ++q, ++row) {
        const int64_t cycle = row + stalls;
        int64_t lo = 0, hi = 0, s_if_row = 0, s_fi_row = 0;
        // Stall cycles of a buffer for this row's demand [lo, hi), if the row has any
        // (range() fills lo/hi before serve() reads them: arguments are evaluated first).
        auto serve = [&](bool has_demand, auto& buffer) -> int64_t {
          return has_demand ? buffer.serve_positions(lo, hi, cycle) : 0;
        };
        // Which operand stream feeds the ifmap and filter buffers depends on the dataflow.
        switch (cfg.dataflow) {
          case Dataflow::kOS:
            s_if_row = serve(s_if.range(fr, ru, q, lo, hi), ifb);
            s_fi_row = serve(s_fi.range(fc, cu, q, lo, hi), fib);
            break;
          case Dataflow::kWS:
            s_if_row = serve(s_if.range(fr, ru, q, lo, hi), ifb);
            s_fi_row = serve(st.range(fc, fr, q, lo, hi), fib);
            break;
          case Dataflow::kIS:
            s_if_row = serve(st.range(fc, fr, q, lo, hi), ifb);
            s_fi_row = serve(s_fi.range(fr, ru, q, lo, hi), fib);
            break;
        }
        const int64_t vlo = os ? m.R - ru : 0, vhi = os ? m.R - 1 : m.T - 1;
        const int64_t n_of =
            std::max<int64_t>(0, std::min(cu - 1, q - of_pre - vlo) - std::max<int64_t>(0, q - of_pre - vhi) + 1);
        const int64_t s_of_row = n_of > 0 ? ofb.serve(n_of, cycle) : 0;
        if (row == last_row) last_out = cycle + s_of_row;
        stalls += std::max<int64_t>({0, s_if_row, s_fi_row, s_of_row});
      }
    }
  }
  ofb.flush(last_out);
  r.ofmap_dram_writes = ofb.accesses;
  r.ofmap_dram_start = ofb.first_drain;
  r.ofmap_dram_stop = ofb.last_drain;
  r.total_cycles = last_out;  // the service cycle of the last ofmap row
  r.ifmap_dram_reads = ifb.dram_words();
  r.filter_dram_reads = fib.dram_words();
  r.ifmap_dram_start = static_cast<double>(-ifb.initial_lines);
  r.ifmap_dram_stop = static_cast<double>(ifb.last_prefetch);
  r.filter_dram_start = static_cast<double>(-fib.initial_lines);
  r.filter_dram_stop = static_cast<double>(fib.last_prefetch);
  return stalls;
}

}  // namespace

LayerResult simulate_layer(const Config& cfg, const Layer& layer) {
  check(cfg.array_height > 0 && cfg.array_width > 0 && cfg.bandwidth > 0, "scalesim: bad array or bandwidth");
  check(cfg.ifmap_sram_kb > 0 && cfg.filter_sram_kb > 0 && cfg.ofmap_sram_kb > 0,
        "scalesim: SRAM sizes must be >= 1 kB");
  const Mapping m = make_mapping(cfg, layer);
  LayerResult r;
  r.row_folds = m.row_folds;
  r.col_folds = m.col_folds;
  r.rows_per_fold = m.rows_per_fold;
  const int64_t folds = m.row_folds * m.col_folds;
  const int64_t pes = m.R * m.C;
  const int64_t demand_rows = folds * m.rows_per_fold;

  // Per-fold efficiencies, summed in SCALE-Sim's fold order (column folds
  // outer) so the averages round exactly as its Python floats do.
  double me_sum = 0, cu_sum = 0, me_comp = 0, cu_comp = 0;
  // Neumaier's compensated step, as CPython >= 3.12 does in sum().
  auto neumaier = [](double& s, double& c, double x) {
    double t = s + x;
    c += std::abs(s) >= std::abs(x) ? (s - t) + x : (x - t) + s;
    s = t;
  };
  auto add_fold = [&](int64_t ru, int64_t cu, int64_t times) {
    const int64_t used = ru * cu;
    const double me = static_cast<double>(used) / static_cast<double>(pes);
    const double cu_ = static_cast<double>(used * m.T) / static_cast<double>(pes * m.util_cycles);
    for (int64_t i = 0; i < times; ++i) {
      if (cfg.compensated_sum) {
        neumaier(me_sum, me_comp, me);
        neumaier(cu_sum, cu_comp, cu_);
      } else {
        me_sum += me, cu_sum += cu_;
      }
    }
  };
  if (folds <= 4'000'000) {
    for (int64_t fc = 0; fc < m.col_folds; ++fc)
      for (int64_t fr = 0; fr < m.row_folds; ++fr) add_fold(m.rows_used(fr), m.cols_used(fc), 1);
  } else {  // huge fold counts: the same sums in closed form (may differ in the last printed digit)
    me_sum = static_cast<double>(m.Sr) * static_cast<double>(m.Sc) / static_cast<double>(pes);
    cu_sum = me_sum * static_cast<double>(m.T) / static_cast<double>(m.util_cycles);
  }
  me_sum += me_comp;
  cu_sum += cu_comp;
  r.mapping_eff = me_sum / static_cast<double>(folds) * 100;
  r.compute_util = cu_sum / static_cast<double>(folds) * 100;

  // SRAM accesses (the counters in systolic_compute_*.py).
  switch (cfg.dataflow) {
    case Dataflow::kOS:
      r.ifmap_sram_reads = m.T * m.Sr * m.col_folds;
      r.filter_sram_reads = m.T * m.Sc * m.row_folds;
      // os also adds the padded fold's height + width once per fold (a quirk of its counter).
      r.ofmap_sram_writes = m.Sr * m.Sc + folds * (m.R + m.C);
      break;
    case Dataflow::kWS:
      r.ifmap_sram_reads = m.T * m.Sr * m.col_folds;
      r.filter_sram_reads = m.Sr * m.Sc;
      r.ofmap_sram_writes = m.T * m.Sc * m.row_folds;
      break;
    case Dataflow::kIS:
      r.ifmap_sram_reads = m.Sr * m.Sc;
      r.filter_sram_reads = m.T * m.Sr * m.col_folds;
      r.ofmap_sram_writes = m.T * m.Sc * m.row_folds;
      break;
  }

  // Cycles: SCALE-Sim reports the cycle of the last demand row, i.e. rows - 1, plus stalls.
  if (cfg.user_bandwidth) {
    // The USER walk visits every demand row; bound it so a huge layer is an error, not a hang.
    check(demand_rows <= 2'000'000'000, "scalesim: layer '", layer.name, "' has ", demand_rows,
          " demand rows on this array, too many for the USER-bandwidth walk (limit 2e9)");
    r.stall_cycles = user_stalls(cfg, layer, m, r);
  } else {
    // CALC mode sizes the interface so that nothing stalls; DRAM traffic is
    // Wafer's estimate: each operand is fetched once per sweep the demand makes
    // over it, in bursts of 10 words (ofmap: array-width words) per cycle.
    const int64_t ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channels;
    const int64_t filter_words = layer.window() * layer.num_filters;
    const int64_t if_sweeps = cfg.dataflow == Dataflow::kIS ? 1 : m.col_folds;
    const int64_t fi_sweeps = cfg.dataflow == Dataflow::kOS ? m.row_folds : 1;
    const bool if_fits = ifmap_words <= cfg.ifmap_sram_kb * 512;
    const bool fi_fits = filter_words <= cfg.filter_sram_kb * 512;
    r.ifmap_dram_reads = ifmap_words * (if_fits ? 1 : if_sweeps);
    r.filter_dram_reads = filter_words * (fi_fits ? 1 : fi_sweeps);
    r.ifmap_dram_start = -static_cast<double>(ceil_div(std::min(ifmap_words, cfg.ifmap_sram_kb * 512), 10));
    r.filter_dram_start = -static_cast<double>(ceil_div(std::min(filter_words, cfg.filter_sram_kb * 512), 10));
  }
  // SCALE-Sim reports the service cycle of the last ofmap demand row (the USER walk sets it).
  if (!cfg.user_bandwidth) r.total_cycles = demand_rows - 1 + r.stall_cycles;
  r.overall_util =
      static_cast<double>(layer.macs() * 100) / (static_cast<double>(r.total_cycles) * static_cast<double>(pes));

  // First/last SRAM access cycles of each operand in the stall-free schedule
  // (reads are reported one hit-latency cycle late, as SCALE-Sim does); with
  // stalls, the stops move out by the layer's stall cycles.
  const int64_t last_fold = (folds - 1) * m.rows_per_fold;
  const int64_t ru0 = m.rows_used(0), ru_last = m.rows_used(m.row_folds - 1);
  const int64_t cu_last = m.cols_used(m.col_folds - 1);
  const double st = static_cast<double>(r.stall_cycles);
  switch (cfg.dataflow) {
    case Dataflow::kOS:
      r.ifmap_sram_start = 1;
      r.filter_sram_start = 1;
      r.ofmap_sram_start = static_cast<double>(m.T - 1 + (m.R - ru0));
      r.ifmap_sram_stop = static_cast<double>(last_fold + m.T - 1 + ru_last - 1 + 1) + st;
      r.filter_sram_stop = static_cast<double>(last_fold + m.T - 1 + cu_last - 1 + 1) + st;
      break;
    case Dataflow::kWS:
      r.ifmap_sram_start = static_cast<double>(m.R + 1);
      r.filter_sram_start = static_cast<double>(m.R - ru0 + 1);
      r.ofmap_sram_start = static_cast<double>(2 * m.R - 1);
      r.ifmap_sram_stop = static_cast<double>(last_fold + m.R + m.T - 1 + ru_last - 1 + 1) + st;
      r.filter_sram_stop = static_cast<double>(last_fold + m.R - 1 + 1) + st;
      break;
    case Dataflow::kIS:
      r.ifmap_sram_start = static_cast<double>(m.R - ru0 + 1);
      r.filter_sram_start = static_cast<double>(m.R + 1);
      r.ofmap_sram_start = static_cast<double>(2 * m.R - 1);
      r.ifmap_sram_stop = static_cast<double>(last_fold + m.R - 1 + 1) + st;
      r.filter_sram_stop = static_cast<double>(last_fold + m.R + m.T - 1 + ru_last - 1 + 1) + st;
      break;
  }
  r.ofmap_sram_stop = static_cast<double>(r.total_cycles);
  if (!cfg.user_bandwidth) {
    r.ifmap_dram_stop = r.ifmap_sram_stop;
    r.filter_dram_stop = r.filter_sram_stop;
  }
  if (cfg.user_bandwidth) return r;  // the USER walk modelled the write buffer itself
  // CALC: the ofmap leaves through the write buffer: drains start once half the
  // buffer holds results and the last drain finishes after the array does.
  const int64_t ofmap_bw = m.C;
  const int64_t drain_words = cfg.ofmap_sram_kb * 512;
  r.ofmap_dram_writes = r.ofmap_sram_writes;
  r.ofmap_dram_start = r.ofmap_sram_writes > drain_words
                           ? r.ofmap_sram_start + static_cast<double>(drain_words / std::max<int64_t>(m.C, 1))
                           : static_cast<double>(r.total_cycles);
  r.ofmap_dram_stop =
      static_cast<double>(r.total_cycles + ceil_div(std::min(r.ofmap_sram_writes, drain_words), ofmap_bw));
  return r;
}

}  // namespace wafer::scalesim
