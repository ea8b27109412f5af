#include "api/errors.h"

namespace wafer::api {

std::string one_line(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n') {
      out += s[i];
      continue;
    }
    while (i + 1 < s.size() && (s[i + 1] == ' ' || s[i + 1] == '\n')) ++i;
    if (i + 1 < s.size()) out += out.empty() || out.back() == ':' ? " " : "; ";
  }
  return out;
}

}  // namespace wafer::api
