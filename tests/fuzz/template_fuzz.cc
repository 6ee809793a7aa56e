// Fuzzes the TEMPLATE expander (engine/template.h) with the standard tokens plus an extra one
// that expands to "{{" (the documented way to write a literal brace pair). Properties: errors
// are one line naming the asset; text without "{{" expands to itself; and expansion has no
// hidden state (the same input gives the same output twice).
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/template.h"
#include "tests/fuzz/fuzz_check.h"

using namespace cells::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TokenMap tokens = [] {
    auto t = plan_tokens("web", 1042, "medium", {{"lbrace", "{{"}, {"port", "8080"}});
    CELLS_FUZZ_CHECK(t.ok(), "standard tokens build");
    return *t;
  }();
  const std::string asset = "web/httpd.conf.tmpl";
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto out = expand_template(asset, text, tokens);
  if (!out) {
    const std::string& m = out.error().message();
    CELLS_FUZZ_CHECK(m.find('\n') == std::string::npos, "template error is one line");
    CELLS_FUZZ_CHECK(m.find(asset) != std::string::npos, "template error names the asset");
    return 0;
  }
  if (text.find("{{") == std::string_view::npos)
    CELLS_FUZZ_CHECK(*out == text, "text without tokens expands to itself");
  auto again = expand_template(asset, text, tokens);
  CELLS_FUZZ_CHECK(again.ok() && *again == *out, "expansion is deterministic");
  return 0;
}
