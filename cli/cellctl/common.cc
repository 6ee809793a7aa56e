#include "cli/cellctl/common.h"

#include <charconv>
#include <cstdio>

namespace cells::cellctl {

Result<kernel::Runtime> open_runtime(const Context& ctx) {
  Paths paths = CELLS_TRY(paths_of(ctx));
  return kernel::Runtime::open(paths);
}

Result<std::optional<uint64_t>> parse_limit(const std::string& flag, const std::string& text) {
  if (text == "unlimited") return std::optional<uint64_t>();
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Error::invalid(flag + " '" + text + "' is not a number or 'unlimited'");
  }
  return std::optional<uint64_t>(v);
}

std::string format_limit(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string("unlimited");
}

}  // namespace cells::cellctl
