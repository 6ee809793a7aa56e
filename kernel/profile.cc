#include "kernel/cell.h"

namespace cells::kernel {

std::string_view to_string(Profile p) {
  switch (p) {
    case Profile::kLow: return "low";
    case Profile::kMedium: return "medium";
    case Profile::kHigh: return "high";
  }
  return "unknown";
}

Result<Profile> parse_profile(std::string_view s) {
  if (s == "low") return Profile::kLow;
  if (s == "medium") return Profile::kMedium;
  if (s == "high") return Profile::kHigh;
  return Error::invalid("unknown profile '" + std::string(s) + "' (expected low, medium or high)");
}

}  // namespace cells::kernel
