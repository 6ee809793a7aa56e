#include "kernel/telemetry_format.h"

#include <gtest/gtest.h>

namespace cells::kernel {
namespace {

constexpr int64_t kSec = 1'000'000'000;

std::vector<CellStats> sample() {
  CellStats a;
  a.cid = 2;
  a.name = "mysite-edge-httpd";
  a.root = "/var/cellmgr/cells/mysite-edge-httpd/root";
  a.created_unix_ns = 1000 * kSec;
  a.cpu_ticks_1s = 87;
  a.cpu_ticks_10s_avg = 43.5;
  a.processes = 3;
  a.references = 4;
  a.vmsize_bytes = 137601024;
  a.rss_bytes = 4096;
  a.restarts = 2;
  a.denials[0] = 5;
  a.state = SuperviseState::kFailed;
  CellStats b;
  b.cid = 10;
  b.name = "db";
  b.root = "/r\"oot\\x\ny\tz";
  b.created_unix_ns = 1500 * kSec;
  b.processes = 1;
  b.references = 1;
  return {a, b};
}

TEST(StatsOutput, FlagRules) {
  EXPECT_EQ(choose_stats_output(false, false, false, false, false, false)->format,
            StatsFormat::kTable);
  EXPECT_EQ(choose_stats_output(true, true, false, false, false, false)->format,
            StatsFormat::kPrometheus);
  EXPECT_FALSE(choose_stats_output(false, false, false, true, true, false)->header);
  struct Bad {
    bool P, h, v, T, H, json;
    const char* says;
  };
  for (Bad b : {Bad{true, false, false, true, false, false, "-T cannot"},
                Bad{false, false, true, true, false, false, "-T cannot"},
                Bad{false, true, false, true, false, false, "-T cannot"},
                Bad{false, false, false, false, true, false, "-H requires -T"},
                Bad{false, true, false, false, false, false, "-h requires -P"},
                Bad{true, false, true, false, false, false, "-v cannot"},
                Bad{true, false, false, false, false, true, "--json cannot"}}) {
    auto r = choose_stats_output(b.P, b.h, b.v, b.T, b.H, b.json);
    ASSERT_FALSE(r.ok()) << b.says;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
    EXPECT_NE(r.error().message().find(b.says), std::string::npos) << r.error().message();
  }
}

TEST(StatsFormat, TableAutoSizesNameAndUsesHumanUnits) {
  auto out = format_stats(sample(), {StatsFormat::kTable}, 1031 * kSec);
  EXPECT_EQ(out,
            "ID  NAME               CPU1S  CPU10S  PROC  AGE  MEMORY\n"
            "2   mysite-edge-httpd  87     43.5    3     31s  131.2M\n"
            "10  db                 0      0.0     1     0s   0B\n");
  EXPECT_EQ(format_stats({}, {StatsFormat::kTable}, 0), "no cells\n");
}

TEST(StatsFormat, VerboseHasRootAndRefs) {
  auto out = format_stats({sample()[0]}, {StatsFormat::kVerbose}, 1000 * kSec + 7200 * kSec);
  EXPECT_EQ(out.substr(0, out.find('\n')), "ID  NAME               ROOT                                       CPU1S  CPU10S  PROC  REFS  AGE  MEMORY");
  EXPECT_NE(out.find("  4     2h   131.2M"), std::string::npos) << out;
}

TEST(StatsFormat, TsvHasRawNumbersAndOptionalHeader) {
  auto cells = sample();
  cells.resize(1);
  StatsOutput o{StatsFormat::kTsv};
  EXPECT_EQ(format_stats(cells, o, 1031 * kSec),
            "CID\tNAME\tCPU1S\tCPU10S\tPROCS\tREFS\tMEMORY\tAGE\tROOT\n"
            "2\tmysite-edge-httpd\t87\t43.5\t3\t4\t137601024\t31\t"
            "/var/cellmgr/cells/mysite-edge-httpd/root\n");
  o.header = false;
  EXPECT_EQ(format_stats({}, o, 0), "");
  o.header = true;
  EXPECT_EQ(format_stats({}, o, 0), "CID\tNAME\tCPU1S\tCPU10S\tPROCS\tREFS\tMEMORY\tAGE\tROOT\n");
}

TEST(StatsFormat, PrometheusKeepsSeedNamesTypesFirstAndEscapes) {
  auto out = format_stats(sample(), {StatsFormat::kPrometheus, true, true}, 1596 * kSec);
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n# HELP ", 0), 0u);
  EXPECT_NE(out.find("# TYPE cell_cpu_ticks_1s gauge\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE cell_restarts_total counter\n"), std::string::npos);
  // Every header line precedes every sample.
  EXPECT_LT(out.rfind("# TYPE"), out.find("\ncell_"));
  EXPECT_NE(out.find("cell_memory_vmsize_bytes{cid=\"2\",name=\"mysite-edge-httpd\",root=\"/var/"
                     "cellmgr/cells/mysite-edge-httpd/root\"} 137601024\n"),
            std::string::npos);
  EXPECT_NE(out.find("cell_age_seconds{cid=\"2\",name=\"mysite-edge-httpd\",root=\"/var/cellmgr/"
                     "cells/mysite-edge-httpd/root\"} 596\n"),
            std::string::npos);
  EXPECT_NE(out.find("cell_cpu_ticks_10s_avg{cid=\"2\",name=\"mysite-edge-httpd\",root=\"/var/"
                     "cellmgr/cells/mysite-edge-httpd/root\"} 43.5\n"),
            std::string::npos);
  EXPECT_NE(out.find("root=\"/r\\\"oot\\\\x\\ny z\"} "), std::string::npos) << out;
  EXPECT_NE(out.find(",kind=\"bind\"} 5\n"), std::string::npos);
  EXPECT_NE(out.find("cell_supervisor_failed{cid=\"2\",name=\"mysite-edge-httpd\",root=\"/var/"
                     "cellmgr/cells/mysite-edge-httpd/root\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("cell_health_up{cid=\"10\""), std::string::npos);
  // Samples of one metric are one contiguous group.
  size_t first = out.find("\ncell_cpu_ticks_1s{");
  size_t second = out.find("\ncell_cpu_ticks_1s{", first + 1);
  EXPECT_EQ(out.find('\n', first + 1), second);
}

TEST(StatsFormat, PrometheusOfManyCellsComesInBoundedPiecesOfWholeLines) {
  std::vector<CellStats> cells;
  for (uint32_t i = 0; i < 1000; ++i) {
    CellStats c = sample()[0];
    c.cid = i + 1;
    c.name = "cell-" + std::to_string(i);
    cells.push_back(c);
  }
  std::vector<std::string> pieces;
  write_stats(cells, {StatsFormat::kPrometheus, true, true}, 1596 * kSec,
              [&pieces](std::string_view p) { pieces.emplace_back(p); });
  // The header first, then the text (1.4 MB) in pieces of whole lines, none much over 64 KiB.
  ASSERT_GT(pieces.size(), 10u);
  EXPECT_EQ(pieces[0], "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  std::string text;
  for (size_t i = 1; i < pieces.size(); ++i) {
    EXPECT_LE(pieces[i].size(), 64u * 1024 + 1024) << "piece " << i;
    EXPECT_EQ(pieces[i].back(), '\n') << "piece " << i;
    text += pieces[i];
  }
  // 11 HELP and 11 TYPE lines, then 14 samples per cell (10 metrics, 4 kinds of denial), each
  // metric's samples one run.
  std::vector<std::string> runs;
  size_t lines = 0;
  for (size_t at = 0; at < text.size(); at = text.find('\n', at) + 1, ++lines) {
    if (text[at] == '#') continue;
    std::string metric = text.substr(at, text.find('{', at) - at);
    if (runs.empty() || runs.back() != metric) runs.push_back(metric);
  }
  EXPECT_EQ(lines, 22u + 14 * 1000);
  EXPECT_EQ(runs.size(), 11u);
  EXPECT_EQ(runs.back(), "cell_supervisor_failed");
}

TEST(StatsFormat, PrometheusWithNoCellsIsOnlyHeaders) {
  auto out = format_stats({}, {StatsFormat::kPrometheus}, 0);
  EXPECT_EQ(out.find("\ncell_"), std::string::npos);
  EXPECT_NE(out.find("# TYPE cell_age_seconds gauge\n"), std::string::npos);
}

TEST(StatsFormat, JsonCarriesEveryField) {
  auto out = format_stats(sample(), {StatsFormat::kJson}, 1031 * kSec);
  EXPECT_NE(out.find("\"name\":\"mysite-edge-httpd\""), std::string::npos);
  EXPECT_NE(out.find("\"state\":\"failed\""), std::string::npos);
  EXPECT_NE(out.find("\"root\":\"/r\\\"oot\\\\x\\ny\\tz\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"denials\":{\"bind\":5,\"sysctl\":0"), std::string::npos);
  EXPECT_EQ(format_stats({}, {StatsFormat::kJson}, 0), "[]\n");
}

TEST(StatsFormat, HumanUnits) {
  EXPECT_EQ(human_bytes(512), "512B");
  EXPECT_EQ(human_bytes(1536), "1.5K");
  EXPECT_EQ(human_bytes(3ull << 30), "3.0G");
  EXPECT_EQ(human_age(119), "119s");
  EXPECT_EQ(human_age(300), "5m");
  EXPECT_EQ(human_age(3 * 86400), "3d");
}

}  // namespace
}  // namespace cells::kernel
