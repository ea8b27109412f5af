#include "core/data_path.h"

#include <cstdlib>
#include <filesystem>

namespace wafer {

std::vector<std::string> data_search_path(const char* env_var, const std::string& subdir) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  if (const char* env = std::getenv(env_var)) {
    std::string list = env;
    for (size_t at = 0; at <= list.size();) {
      size_t end = std::min(list.find(':', at), list.size());
      if (end > at) dirs.push_back(list.substr(at, end - at));
      at = end + 1;
    }
  }
  // Installed: PREFIX/bin/wafer finds PREFIX/share/wafer/SUBDIR.
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "wafer" / subdir;
    if (fs::is_directory(installed, ec)) dirs.push_back(installed.string());
  }
  dirs.push_back((fs::path(WAFER_SOURCE_DIR) / subdir).string());  // the build tree's source checkout
  return dirs;
}

}  // namespace wafer
