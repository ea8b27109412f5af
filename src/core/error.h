// Errors that carry context (file, node, field) up to the CLI.
//
// Library code never exits or aborts on bad input: it throws wafer::Error, and
// each layer that knows more context (the importer knows the file, the
// interpreter knows the node) prefixes it with `with_context`.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace wafer {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Input that is well-formed but asks for something Wafer does not implement.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

// fail("node ", name, ": bad axis ", axis) throws Error with the pieces joined.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(detail::concat(std::forward<Args>(args)...));
}

template <typename... Args>
void check(bool condition, Args&&... args) {
  if (!condition) fail(std::forward<Args>(args)...);
}

// Re-throws `e` with `prefix: ` in front, keeping its type.
[[noreturn]] inline void rethrow_with_context(const Error& e, const std::string& prefix) {
  if (dynamic_cast<const UnsupportedError*>(&e)) throw UnsupportedError(prefix + ": " + e.what());
  throw Error(prefix + ": " + e.what());
}

}  // namespace wafer
