#include "kernel/telemetry_format.h"

#include <algorithm>
#include <cstdio>

namespace cells::kernel {

namespace {

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Metric values: integers print as integers, the 10 s average with up to two decimals.
std::string metric_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

// A table with upper-case headers and two-space gaps; the last column is not padded.
std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

// The text goes to SINK in pieces of about kChunk bytes, so a scrape of a thousand cells (1.4 MB)
// reuses one small buffer instead of touching 350 fresh pages for a whole copy of it.
void write_prometheus(const std::vector<CellStats>& cells, int64_t now, const StatsSink& sink) {
  constexpr size_t kChunk = 64 * 1024;
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
  };
  static constexpr Metric kMetrics[] = {
      {"cell_cpu_ticks_1s", "gauge", "CPU time used in the last second, in 1/100 s ticks."},
      {"cell_cpu_ticks_10s_avg", "gauge", "Rolling 10 s average of cell_cpu_ticks_1s."},
      {"cell_processes_current", "gauge", "Live processes in the cell."},
      {"cell_references_current", "gauge", "Processes plus zombies in the cell."},
      {"cell_memory_vmsize_bytes", "gauge", "Virtual memory size summed over the cell's processes."},
      {"cell_age_seconds", "gauge", "Seconds since the cell was created."},
      {"cell_memory_rss_bytes", "gauge", "Resident memory summed over the cell's processes."},
      {"cell_restarts_total", "counter", "Restarts of the cell's supervised service."},
      {"cell_denials_total", "counter", "Operations the cell's kernel policy denied, by kind."},
      {"cell_health_up", "gauge", "1 if the last healthcheck passed, 0 if it failed, NaN if unknown."},
      {"cell_supervisor_failed", "gauge", "1 if the supervised service spent its restart budget."},
  };
  std::string out;
  out.reserve(kChunk + 4096);
  auto line_done = [&] {
    if (out.size() >= kChunk) {
      sink(out);
      out.clear();
    }
  };
  // All HELP/TYPE lines come first, as in the seed's output; each metric's samples then stay
  // one group, which the exposition format requires.
  for (const auto& m : kMetrics) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n";
    out += std::string("# TYPE ") + m.name + " " + m.type + "\n";
  }
  std::vector<std::string> labels;
  labels.reserve(cells.size());
  for (const auto& c : cells) {
    labels.push_back("cid=\"" + std::to_string(c.cid) + "\",name=\"" +
                     prometheus_label_value(c.name) + "\",root=\"" +
                     prometheus_label_value(c.root) + "\"");
  }
  auto emit = [&](const char* name, auto value_of) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += name;
      out += '{';
      out += labels[i];
      out += "} ";
      out += value_of(cells[i]);
      out += '\n';
      line_done();
    }
  };
  using S = const CellStats&;
  emit("cell_cpu_ticks_1s", [](S c) { return std::to_string(c.cpu_ticks_1s); });
  emit("cell_cpu_ticks_10s_avg", [](S c) { return metric_number(c.cpu_ticks_10s_avg); });
  emit("cell_processes_current", [](S c) { return std::to_string(c.processes); });
  emit("cell_references_current", [](S c) { return std::to_string(c.references); });
  emit("cell_memory_vmsize_bytes", [](S c) { return std::to_string(c.vmsize_bytes); });
  emit("cell_age_seconds", [&](S c) { return std::to_string(c.age_seconds(now)); });
  emit("cell_memory_rss_bytes", [](S c) { return std::to_string(c.rss_bytes); });
  emit("cell_restarts_total", [](S c) { return std::to_string(c.restarts); });
  static constexpr const char* kKinds[kDenialKindCount] = {"bind", "sysctl", "device", "socket"};
  for (size_t i = 0; i < cells.size(); ++i) {
    for (int k = 0; k < kDenialKindCount; ++k) {
      out += "cell_denials_total{" + labels[i] + ",kind=\"" + kKinds[k] + "\"} " +
             std::to_string(cells[i].denials[k]) + "\n";
    }
    line_done();
  }
  // Health is "unknown" without a healthcheck; NaN says so without faking "up".
  emit("cell_health_up", [](S c) {
    return std::string(c.health == Health::kUp ? "1" : c.health == Health::kDown ? "0" : "NaN");
  });
  emit("cell_supervisor_failed",
       [](S c) { return std::string(c.state == SuperviseState::kFailed ? "1" : "0"); });
  if (!out.empty()) sink(out);
}

std::string format_json(const std::vector<CellStats>& cells, int64_t now) {
  static constexpr const char* kKinds[kDenialKindCount] = {"bind", "sysctl", "device", "socket"};
  std::string out = "[";
  for (size_t i = 0; i < cells.size(); ++i) {
    const CellStats& c = cells[i];
    out += i ? ",\n " : "\n ";
    out += "{\"cid\":" + std::to_string(c.cid) + ",\"name\":" + json_string(c.name) +
           ",\"root\":" + json_string(c.root) +
           ",\"cpu_ticks_1s\":" + std::to_string(c.cpu_ticks_1s) +
           ",\"cpu_ticks_10s_avg\":" + metric_number(c.cpu_ticks_10s_avg) +
           ",\"processes\":" + std::to_string(c.processes) +
           ",\"references\":" + std::to_string(c.references) +
           ",\"memory_vmsize_bytes\":" + std::to_string(c.vmsize_bytes) +
           ",\"memory_rss_bytes\":" + std::to_string(c.rss_bytes) +
           ",\"age_seconds\":" + std::to_string(c.age_seconds(now)) +
           ",\"restarts\":" + std::to_string(c.restarts) +
           ",\"state\":" + json_string(to_string(c.state)) +
           ",\"health\":" + json_string(to_string(c.health)) + ",\"denials\":{";
    for (int k = 0; k < kDenialKindCount; ++k) {
      out += std::string(k ? "," : "") + "\"" + kKinds[k] + "\":" + std::to_string(c.denials[k]);
    }
    out += "}}";
  }
  out += cells.empty() ? "]\n" : "\n]\n";
  return out;
}

}  // namespace

Result<StatsOutput> choose_stats_output(bool prometheus, bool http, bool verbose, bool tsv,
                                        bool no_header, bool json) {
  if (json && (prometheus || http || verbose || tsv || no_header)) {
    return Error::invalid("--json cannot be combined with -P, -h, -v, -T or -H");
  }
  if (tsv && (prometheus || verbose || http)) {
    return Error::invalid("-T cannot be combined with -P, -v or -h");
  }
  if (no_header && !tsv) return Error::invalid("-H requires -T");
  if (http && !prometheus) return Error::invalid("-h requires -P");
  if (prometheus && verbose) return Error::invalid("-v cannot be combined with -P");
  StatsOutput out;
  out.format = json         ? StatsFormat::kJson
               : prometheus ? StatsFormat::kPrometheus
               : tsv        ? StatsFormat::kTsv
               : verbose    ? StatsFormat::kVerbose
                            : StatsFormat::kTable;
  out.header = !no_header;
  out.http_header = http;
  return out;
}

std::string prometheus_label_value(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r':
      case '\t': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

std::string human_bytes(uint64_t b) {
  if (b < 1024) return std::to_string(b) + "B";
  static constexpr const char* kUnits = "KMGTP";
  double v = double(b);
  int u = -1;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return fixed1(v) + kUnits[u];
}

std::string human_age(int64_t s) {
  if (s < 120) return std::to_string(s) + "s";
  if (s < 120 * 60) return std::to_string(s / 60) + "m";
  if (s < 48 * 3600) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

void write_stats(const std::vector<CellStats>& cells, const StatsOutput& out, int64_t now,
                 const StatsSink& sink) {
  if (out.format != StatsFormat::kPrometheus) {
    sink(format_stats(cells, out, now));
    return;
  }
  if (out.http_header) sink("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  write_prometheus(cells, now, sink);
}

std::string format_stats(const std::vector<CellStats>& cells, const StatsOutput& out,
                         int64_t now) {
  switch (out.format) {
    case StatsFormat::kPrometheus: {
      std::string text;
      write_stats(cells, out, now, [&text](std::string_view piece) { text += piece; });
      return text;
    }
    case StatsFormat::kJson:
      return format_json(cells, now);
    case StatsFormat::kTsv: {
      std::string s;
      if (out.header) s = "CID\tNAME\tCPU1S\tCPU10S\tPROCS\tREFS\tMEMORY\tAGE\tROOT\n";
      for (const auto& c : cells) {
        s += std::to_string(c.cid) + "\t" + c.name + "\t" + std::to_string(c.cpu_ticks_1s) + "\t" +
             fixed1(c.cpu_ticks_10s_avg) + "\t" + std::to_string(c.processes) + "\t" +
             std::to_string(c.references) + "\t" + std::to_string(c.vmsize_bytes) + "\t" +
             std::to_string(c.age_seconds(now)) + "\t" + c.root + "\n";
      }
      return s;
    }
    case StatsFormat::kTable:
    case StatsFormat::kVerbose: {
      if (cells.empty()) return "no cells\n";
      bool v = out.format == StatsFormat::kVerbose;
      std::vector<std::vector<std::string>> rows;
      if (v) {
        rows.push_back({"ID", "NAME", "ROOT", "CPU1S", "CPU10S", "PROC", "REFS", "AGE", "MEMORY"});
      } else {
        rows.push_back({"ID", "NAME", "CPU1S", "CPU10S", "PROC", "AGE", "MEMORY"});
      }
      for (const auto& c : cells) {
        std::vector<std::string> r = {std::to_string(c.cid), c.name};
        if (v) r.push_back(c.root);
        r.push_back(std::to_string(c.cpu_ticks_1s));
        r.push_back(fixed1(c.cpu_ticks_10s_avg));
        r.push_back(std::to_string(c.processes));
        if (v) r.push_back(std::to_string(c.references));
        r.push_back(human_age(c.age_seconds(now)));
        r.push_back(human_bytes(c.vmsize_bytes));
        rows.push_back(std::move(r));
      }
      return render_table(rows);
    }
  }
  return {};
}

}  // namespace cells::kernel
