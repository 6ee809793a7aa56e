// Fuzzes the manifest parsers (engine/manifest.h): every input is parsed as a .cell, a .volume
// and a cellmgr.conf. Beyond "no crash, no sanitizer finding", each manifest that parses must
// render to canonical TOML that parses back to the same value and renders identically
// (manifest.h promises parse(render(m)) == m), and every error must be one line.
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/manifest.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace cells::engine;
using cells::Result;

template <typename T, typename Parse, typename Render>
void round_trip(const std::string& file, std::string_view text, Parse parse, Render render) {
  Result<T> first = parse(file, text);
  if (!first) {
    CELLS_FUZZ_CHECK(first.error().message().find('\n') == std::string::npos,
                     "parse error is one line");
    return;
  }
  std::string canonical = render(*first);
  Result<T> again = parse(file, canonical);
  CELLS_FUZZ_CHECK(again.ok(), "rendered manifest parses");
  CELLS_FUZZ_CHECK(*again == *first, "parse(render(m)) == m");
  CELLS_FUZZ_CHECK(render(*again) == canonical, "rendering is canonical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  round_trip<CellManifest>("/etc/cellmgr/web.cell", text, parse_cell, render_cell);
  round_trip<VolumeManifest>("/etc/cellmgr/webroot.volume", text, parse_volume, render_volume);
  round_trip<HostConfig>("/etc/cellmgr/cellmgr.conf", text, parse_config, render_config);
  // The duration grammar is shared by healthchecks and the configuration.
  if (auto d = parse_duration(text); d) {
    auto back = parse_duration(format_duration(*d));
    CELLS_FUZZ_CHECK(back.ok() && *back == *d, "parse_duration(format_duration(d)) == d");
  }
  return 0;
}
