#include "core/compare.h"

#include <cmath>
#include <sstream>

namespace wafer {

Comparison compare_tensors(const Tensor& expected, const Tensor& actual, Tolerance tol) {
  Comparison c;
  if (expected.dtype() != actual.dtype()) {
    c.ok = false;
    c.message = "type " + std::string(dtype_name(actual.dtype())) + ", expected " +
                std::string(dtype_name(expected.dtype()));
    return c;
  }
  if (expected.dims() != actual.dims()) {
    c.ok = false;
    c.message = "shape " + dims_to_string(actual.dims()) + ", expected " + dims_to_string(expected.dims());
    return c;
  }
  bool exact = !is_float(expected.dtype());
  double err2 = 0, ref2 = 0;
  int64_t first_bad = -1;
  for (int64_t i = 0, n = expected.numel(); i < n; ++i) {
    double e = expected.get_double(i), a = actual.get_double(i);
    if (std::isnan(e) || std::isnan(a)) {
      if (std::isnan(e) != std::isnan(a) && first_bad < 0) first_bad = i;
      continue;
    }
    if (std::isinf(e) || std::isinf(a)) {
      if (e != a && first_bad < 0) first_bad = i;
      continue;
    }
    double d = std::fabs(e - a);
    if (exact) {
      // Compare integers exactly through int64 (doubles lose int64 precision).
      if (expected.get_int(i) != actual.get_int(i) && first_bad < 0) first_bad = i;
    } else if (d > tol.atol + tol.rtol * std::fabs(e) && first_bad < 0) {
      first_bad = i;
    }
    c.max_abs = std::max(c.max_abs, d);
    if (e != 0) c.max_rel = std::max(c.max_rel, d / std::fabs(e));
    err2 += d * d;
    ref2 += e * e;
  }
  c.rel_l2 = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
  if (first_bad >= 0) {
    c.ok = false;
    std::ostringstream m;
    m.precision(9);
    m << "element " << first_bad << " is " << actual.get_double(first_bad) << ", expected "
      << expected.get_double(first_bad);
    c.message = m.str();
  }
  return c;
}

}  // namespace wafer
