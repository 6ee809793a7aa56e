#include "engine/template.h"

#include <algorithm>
#include <cctype>

namespace cells::engine {
namespace {

bool valid_token(std::string_view t) {
  if (t.empty() || std::isdigit(static_cast<unsigned char>(t[0]))) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Result<TokenMap> plan_tokens(const std::string& cell_name, uint64_t cid,
                             const std::string& profile, const TokenMap& extra) {
  TokenMap tokens = {{"cell_name", cell_name}, {"cid", std::to_string(cid)}, {"profile", profile}};
  for (const auto& [k, v] : extra) {
    if (!valid_token(k)) return Error::invalid("template token name '" + k + "' is not valid");
    if (!tokens.emplace(k, v).second) {
      return Error::invalid("template token '" + k + "' is built in and cannot be redefined");
    }
  }
  return tokens;
}

Result<std::string> expand_template(const std::string& asset, std::string_view text,
                                    const TokenMap& tokens) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    auto line = [&] { return std::to_string(1 + std::count(text.begin(), text.begin() + open, '\n')); };
    size_t close = text.find("}}", open + 2);
    size_t nl = text.find('\n', open);
    if (close == std::string_view::npos || (nl != std::string_view::npos && nl < close)) {
      return Error::invalid(asset + ":" + line() + ": '{{' is not closed by '}}' on the same line");
    }
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    auto it = tokens.find(std::string(name));
    if (it == tokens.end()) {
      std::string known;
      for (const auto& [k, v] : tokens) known += (known.empty() ? "" : ", ") + k;
      return Error::invalid(asset + ":" + line() + ": unknown template token '" +
                            std::string(name) + "' (known: " + known + ")");
    }
    out += it->second;
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace cells::engine
