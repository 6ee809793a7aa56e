#include "engine/manifest.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <random>

#include "base/files.h"

#include "engine/drift.h"
#include "engine/manifest_check.h"
#include "engine/plan.h"

namespace cells::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kWeb = "/etc/cellmgr/web.cell";

std::string data(const std::string& name) { return std::string(CELLS_ENGINE_TESTDATA) + "/" + name; }

// The error message of parsing TEXT as /etc/cellmgr/web.cell.
std::string cell_error(const std::string& text) {
  auto r = parse_cell(kWeb, text);
  if (r) return "(parsed fine)";
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
  return r.error().message();
}

CellManifest full_cell() {
  CellManifest m;
  m.file = kWeb;
  m.name = "web";
  m.autostart = true;
  m.profile = "low";
  m.reserved_ports = {8080, 443};
  m.command = "/usr/sbin/httpd -f \"quoted\" \\ back\tslash";
  m.run_as = RunAs{RunAs::Kind::kHost, "nobody", "nogroup"};
  m.rlimits = {4096, std::nullopt, 0};
  m.depends_on = {"db", "cache"};
  m.healthcheck = Healthcheck{"curl -sf http://127.0.0.1:8080/", milliseconds(1500),
                              std::chrono::minutes(2), 7};
  m.log = {"local3", "debug", "warning", "web-tag"};
  m.mounts = {{Mount::Source::kVolume, "webroot", "/var/www", true},
              {Mount::Source::kHost, "/srv/shared/x", "/srv/x", false}};
  m.base = "debian";
  m.reload_signal = "SIGHUP";
  return m;
}

TEST(Manifest, ParsesExampleCell) {
  auto m = load_cell(data("web.cell"));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->name, "web");
  EXPECT_TRUE(m->autostart);
  EXPECT_EQ(m->profile, "medium");
  EXPECT_EQ(m->reserved_ports, std::vector<uint16_t>{8080});
  EXPECT_EQ(to_string(*m->run_as), "cell:www-data:www-data");
  EXPECT_EQ(m->rlimits.nofile, 4096u);
  EXPECT_EQ(m->rlimits.as, std::nullopt);
  EXPECT_EQ(m->rlimits.core, 0u);
  EXPECT_EQ(m->depends_on, std::vector<std::string>{"db"});
  ASSERT_TRUE(m->healthcheck);
  EXPECT_EQ(m->healthcheck->command, "test -f /var/www/web/index.html");
  EXPECT_EQ(m->healthcheck->timeout, seconds(5));  // defaults for the plain-string form
  EXPECT_EQ(m->log.facility, "local1");
  EXPECT_EQ(m->log.stdout_level, "info");
  EXPECT_EQ(m->log.stderr_level, "err");
  EXPECT_EQ(m->log.tag, "cell-web");
  ASSERT_EQ(m->mounts.size(), 1u);
  EXPECT_EQ(m->mounts[0].from, "webroot");
  EXPECT_TRUE(m->mounts[0].read_only);
  EXPECT_EQ(m->base, std::nullopt);
}

TEST(Manifest, DefaultsForMinimalCell) {
  auto m = parse_cell(kWeb, "name = \"web\"\ncommand = \"sleep 1\"\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_FALSE(m->autostart);
  EXPECT_EQ(m->profile, "high");
  EXPECT_TRUE(m->reserved_ports.empty());
  EXPECT_EQ(m->run_as, std::nullopt);
  EXPECT_EQ(m->log.facility, "daemon");
  EXPECT_EQ(m->log.stdout_level, "notice");
  EXPECT_EQ(m->log.tag, "web");
  EXPECT_EQ(m->healthcheck, std::nullopt);
}

TEST(Manifest, CellRoundTrip) {
  CellManifest m = full_cell();
  std::string text = render_cell(m);
  auto back = parse_cell(kWeb, text);
  ASSERT_TRUE(back) << back.error().message() << "\n" << text;
  EXPECT_EQ(*back, m) << text;
  EXPECT_EQ(render_cell(*back), text);

  // The examples, too: parse, render, parse again.
  for (const char* f : {"web.cell", "db.cell"}) {
    auto parsed = load_cell(data(f));
    ASSERT_TRUE(parsed) << parsed.error().message();
    auto again = parse_cell(parsed->file, render_cell(*parsed));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, *parsed) << f;
  }
}

TEST(Manifest, ReloadSignalIsKeptByItsCanonicalNameAndIsServiceDrift) {
  const std::string head = "name = \"web\"\ncommand = \"x\"\n";
  auto plain = parse_cell(kWeb, head);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_FALSE(plain->reload_signal);
  auto hup = parse_cell(kWeb, head + "reload_signal = \"hup\"\n");
  ASSERT_TRUE(hup) << hup.error().message();
  EXPECT_EQ(hup->reload_signal, "SIGHUP");
  EXPECT_EQ(service_diff(*plain, *hup), std::vector<std::string>{"reload_signal"});
  auto same = parse_cell(kWeb, head + "reload_signal = \"SIGHUP\"\n");
  ASSERT_TRUE(same);
  EXPECT_TRUE(service_diff(*hup, *same).empty());
}

TEST(Manifest, VolumeAndConfigRoundTrip) {
  auto v = load_volume(data("webroot.volume"));
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->mode, 0755u);
  VolumeManifest secret{"/etc/cellmgr/secrets.volume", "secrets", 0700};
  auto vb = parse_volume(secret.file, render_volume(secret));
  ASSERT_TRUE(vb) << vb.error().message();
  EXPECT_EQ(*vb, secret);

  auto c = load_config(data("cellmgr.conf"));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->allow_host_mounts);
  EXPECT_EQ(c->stop_timeout, seconds(15));
  EXPECT_EQ(c->backup_keep, 10u);
  auto cb = parse_config(c->file, render_config(*c));
  ASSERT_TRUE(cb) << cb.error().message();
  EXPECT_EQ(*cb, *c);

  auto missing = load_config("/nonexistent/cellmgr.conf");
  ASSERT_TRUE(missing) << missing.error().message();
  EXPECT_FALSE(missing->allow_host_mounts);
  EXPECT_EQ(missing->default_base, "host");
}

TEST(Manifest, BadCellInputsNameFileLineKeyReason) {
  const std::string head = "name = \"web\"\ncommand = \"x\"\n";  // lines 1-2
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {head + "reserved_ports = [80, 70000]\n",
       "/etc/cellmgr/web.cell:3: key 'reserved_ports': port 70000 is out of range 1..65535"},
      {head + "reserved_ports = [0]\n",
       "/etc/cellmgr/web.cell:3: key 'reserved_ports': port 0 is out of range 1..65535"},
      {head + "reserved_ports = [80, 80]\n",
       "/etc/cellmgr/web.cell:3: key 'reserved_ports': port 80 is listed twice"},
      {head + "reserved_ports = [\"80\"]\n",
       "/etc/cellmgr/web.cell:3: key 'reserved_ports': ports must be integers"},
      {head + "\nautostrat = true\n", "/etc/cellmgr/web.cell:4: key 'autostrat': unknown key"},
      {head + "autostart = \"YES\"\n",
       "/etc/cellmgr/web.cell:3: key 'autostart': must be true or false, not a string"},
      {head + "reload_signal = \"KILL\"\n",
       "/etc/cellmgr/web.cell:3: key 'reload_signal': unknown signal 'KILL' (one of HUP, INT, "
       "QUIT, USR1, USR2, TERM, ALRM, WINCH, CONT, with or without SIG)"},
      {head + "profile = \"extreme\"\n",
       "/etc/cellmgr/web.cell:3: key 'profile': unknown profile 'extreme' (one of "
       "low|medium|high)"},
      {"name = \"web\"\n", "/etc/cellmgr/web.cell: key 'command': required key is missing"},
      {"command = \"x\"\n", "/etc/cellmgr/web.cell: key 'name': required key is missing"},
      {"name = \"other\"\ncommand = \"x\"\n",
       "/etc/cellmgr/web.cell:1: key 'name': 'other' does not match the file name 'web'"},
      {"name = \"web\"\ncommand = \"  \"\n", "/etc/cellmgr/web.cell:2: key 'command': is empty"},
      {head + "run_as = \"root\"\n",
       "/etc/cellmgr/web.cell:3: key 'run_as': 'root' has no kind (expected host:user[:group], "
       "cell:user[:group] or uid:N[:M])"},
      {head + "run_as = \"uid:abc\"\n",
       "/etc/cellmgr/web.cell:3: key 'run_as': 'uid:abc' has a bad numeric id 'abc' (expected "
       "host:user[:group], cell:user[:group] or uid:N[:M])"},
      {head + "[rlimits]\nnofile = -1\n",
       "/etc/cellmgr/web.cell:4: key 'rlimits.nofile': must be a non-negative integer or "
       "\"unlimited\""},
      {head + "[rlimits]\nstack = 1\n", "/etc/cellmgr/web.cell:4: key 'rlimits.stack': unknown key"},
      {head + "depends_on = [\"web\"]\n",
       "/etc/cellmgr/web.cell:3: key 'depends_on': a cell cannot depend on itself"},
      {head + "depends_on = [\"db\", \"db\"]\n",
       "/etc/cellmgr/web.cell:3: key 'depends_on': 'db' is listed twice"},
      {head + "[healthcheck]\ncommand = \"true\"\ntimeout = \"5 seconds\"\n",
       "/etc/cellmgr/web.cell:5: key 'healthcheck.timeout': '5 seconds' is not a duration (a "
       "whole number with ms, s, m or h, e.g. \"5s\")"},
      {head + "[healthcheck]\ntimeout = \"5s\"\n",
       "/etc/cellmgr/web.cell:3: key 'healthcheck.command': required key is missing"},
      {head + "[healthcheck]\ncommand = \"true\"\nretries = 0\n",
       "/etc/cellmgr/web.cell:5: key 'healthcheck.retries': must be in range 1..1000"},
      {head + "[log]\nfacility = \"local9\"\n",
       "/etc/cellmgr/web.cell:4: key 'log.facility': unknown facility 'local9' (one of "
       "auth|authpriv|cron|daemon|ftp|kern|lpr|mail|news|syslog|user|uucp|local0|local1|local2|"
       "local3|local4|local5|local6|local7)"},
      {head + "[log]\nstderr_level = \"error\"\n",
       "/etc/cellmgr/web.cell:4: key 'log.stderr_level': unknown level 'error' (one of "
       "emerg|alert|crit|err|warning|notice|info|debug)"},
      {head + "[log]\ntag = \"has space\"\n",
       "/etc/cellmgr/web.cell:4: key 'log.tag': 'has space' may contain only [A-Za-z0-9._-]"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"var/www\"\n",
       "/etc/cellmgr/web.cell:5: key 'mounts[0].target': 'var/www' is not an absolute path"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/\"\n",
       "/etc/cellmgr/web.cell:5: key 'mounts[0].target': '/' cannot be a mount target"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/dev/shm\"\n",
       "/etc/cellmgr/web.cell:5: key 'mounts[0].target': '/dev/shm' is under /dev, which the "
       "runtime owns"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/proc\"\n",
       "/etc/cellmgr/web.cell:5: key 'mounts[0].target': '/proc' is under /proc, which the "
       "runtime owns"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/var/../etc\"\n",
       "/etc/cellmgr/web.cell:5: key 'mounts[0].target': '/var/../etc' has a '..' component"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/var/www\"\n" +
           "[[mounts]]\nvolume = \"w\"\ntarget = \"/var/www/data\"\n",
       "/etc/cellmgr/web.cell:8: key 'mounts[1].target': '/var/www/data' overlaps the target "
       "'/var/www'"},
      {head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/a\"\nmode = \"rx\"\n",
       "/etc/cellmgr/web.cell:6: key 'mounts[0].mode': must be \"ro\" or \"rw\", not 'rx'"},
      {head + "[[mounts]]\nhost = \"/\"\ntarget = \"/a\"\n",
       "/etc/cellmgr/web.cell:4: key 'mounts[0].host': the host's '/' cannot be mounted into a "
       "cell"},
      {head + "[[mounts]]\ntarget = \"/a\"\n",
       "/etc/cellmgr/web.cell:3: key 'mounts[0].volume': a mount needs a volume or a host path"},
      {head + "base = \"alpine\"\n",
       "/etc/cellmgr/web.cell:3: key 'base': unknown base 'alpine' (one of host|debian)"},
      {head + "command = \"y\"\n",
       "/etc/cellmgr/web.cell:3: TOML syntax error: Error while parsing key-value pair: cannot "
       "redefine existing string 'command'"},
  };
  for (const Case& c : cases) EXPECT_EQ(cell_error(c.text), c.error) << c.text;
}

TEST(Manifest, BadVolumeAndConfigInputs) {
  auto v = parse_volume("/etc/cellmgr/data.volume", "name = \"data\"\nmode = \"755\"\n");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message(),
            "/etc/cellmgr/data.volume:2: key 'mode': must be four octal digits as a string, "
            "e.g. \"0755\"");
  v = parse_volume("/etc/cellmgr/data.volume", "name = \"data\"\nmode = 755\n");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message(),
            "/etc/cellmgr/data.volume:2: key 'mode': must be four octal digits as a string, "
            "e.g. \"0755\"");
  v = parse_volume("/etc/cellmgr/data.volume", "name = \"data\"\nowner = \"x\"\n");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message(), "/etc/cellmgr/data.volume:2: key 'owner': unknown key");

  const std::string conf = "/etc/cellmgr/cellmgr.conf";
  auto c = parse_config(conf, "allowed_host_paths = [\"srv\"]\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "/etc/cellmgr/cellmgr.conf:1: key 'allowed_host_paths': 'srv' is not an absolute "
            "path");
  c = parse_config(conf, "\nrestart_budget = \"five\"\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "/etc/cellmgr/cellmgr.conf:2: key 'restart_budget': 'five' is not a restart budget "
            "like \"5/60s\"");
  c = parse_config(conf, "debian_mirror = \"ftp://x\"\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "/etc/cellmgr/cellmgr.conf:1: key 'debian_mirror': must be an http://, https:// or "
            "file:/ URL");
}

CellManifest cell(const std::string& name, std::vector<uint16_t> ports,
                  std::vector<std::string> deps, std::vector<Mount> mounts = {}) {
  CellManifest m;
  m.file = "/etc/cellmgr/" + name + ".cell";
  m.name = name;
  m.command = "true";
  m.reserved_ports = std::move(ports);
  m.depends_on = std::move(deps);
  m.mounts = std::move(mounts);
  return m;
}

TEST(Manifest, CrossValidationFindsEveryProblem) {
  std::vector<CellManifest> cells = {
      cell("a", {80}, {"b"}),
      cell("b", {443, 80}, {"a"}, {{Mount::Source::kVolume, "missing", "/data", false}}),
      cell("c", {8080}, {"ghost"}, {{Mount::Source::kHost, "/srv/x", "/x", false}}),
  };
  std::vector<VolumeManifest> volumes = {{"/etc/cellmgr/webroot.volume", "webroot", 0755}};
  HostConfig conf;
  conf.file = "/etc/cellmgr/cellmgr.conf";
  std::vector<std::string> problems = validate_desired(cells, volumes, conf);
  std::vector<std::string> expected = {
      "/etc/cellmgr/b.cell: port 80 is also reserved by cell 'a' (/etc/cellmgr/a.cell)",
      "/etc/cellmgr/b.cell: mount on /data uses volume 'missing', which has no manifest",
      "/etc/cellmgr/c.cell: depends on cell 'ghost', which has no manifest",
      "/etc/cellmgr/c.cell: host mount of /srv/x is not allowed: set allow_host_mounts = true "
      "in /etc/cellmgr/cellmgr.conf",
      "/etc/cellmgr/a.cell: dependency cycle: a -> b -> a",
  };
  EXPECT_EQ(problems, expected);

  conf.allow_host_mounts = true;
  conf.allowed_host_paths = {"/srv/shared"};
  problems = validate_desired({cells[2]}, volumes, conf);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[1],
            "/etc/cellmgr/c.cell: host mount of /srv/x is not under any allowed_host_paths entry "
            "in /etc/cellmgr/cellmgr.conf");
  conf.allowed_host_paths = {"/srv"};
  EXPECT_EQ(validate_desired({cells[2]}, volumes, conf).size(), 1u);  // only the missing dep
}

TEST(Manifest, CrossValidationAcceptsExamples) {
  auto web = load_cell(data("web.cell"));
  auto db = load_cell(data("db.cell"));
  auto vol = load_volume(data("webroot.volume"));
  auto conf = load_config(data("cellmgr.conf"));
  ASSERT_TRUE(web && db && vol && conf);
  EXPECT_EQ(validate_desired({*web, *db}, {*vol}, *conf), std::vector<std::string>{});
}

TEST(Manifest, LongerCycleIsNamedOnce) {
  std::vector<CellManifest> cells = {cell("x", {}, {"y"}), cell("y", {}, {"z"}),
                                     cell("z", {}, {"x"}), cell("w", {}, {"x"})};
  auto problems = validate_desired(cells, {}, HostConfig{});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "/etc/cellmgr/x.cell: dependency cycle: x -> y -> z -> x");
  auto order = dependency_order(cells);
  ASSERT_FALSE(order);
  EXPECT_EQ(order.error().message(), "dependency cycle: x -> y -> z -> x");
}

TEST(Manifest, DependencyOrderIsTopologicalWithTiesByName) {
  std::vector<CellManifest> cells = {
      cell("nginx", {}, {"phpfpm"}), cell("phpfpm", {}, {"postgresql"}),
      cell("postgresql", {}, {}),    cell("alpha", {}, {}),
      cell("blue", {}, {}),          cell("edge", {}, {"blue", "alpha", "outside"}),
  };
  auto order = dependency_order(cells);
  ASSERT_TRUE(order) << order.error().message();
  EXPECT_EQ(*order, (std::vector<std::string>{"alpha", "blue", "edge", "postgresql", "phpfpm",
                                              "nginx"}));
}

TEST(Manifest, ValueHelpers) {
  EXPECT_EQ(*parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(*parse_duration("2h"), std::chrono::hours(2));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_EQ(format_duration(milliseconds(90000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_TRUE(targets_overlap("/a", "/a/b"));
  EXPECT_TRUE(targets_overlap("/a", "/a"));
  EXPECT_FALSE(targets_overlap("/a", "/ab"));
  EXPECT_TRUE(valid_name("mysite-edge-httpd"));
  EXPECT_FALSE(valid_name(".."));
  EXPECT_FALSE(valid_name("-x"));
  EXPECT_FALSE(valid_name(std::string(64, 'a')));
  EXPECT_EQ(to_string(*parse_run_as("uid:33")), "uid:33");
  EXPECT_FALSE(parse_run_as("cell:"));
  EXPECT_FALSE(parse_run_as("cell:a:"));
}


TEST(Manifest, LoadDesiredReadsTheExampleDirectory) {
  DesiredSet set = load_desired(CELLS_ENGINE_TESTDATA);
  EXPECT_EQ(set.problems, std::vector<std::string>{});
  ASSERT_EQ(set.cells.size(), 2u);
  EXPECT_EQ(set.cells[0].name, "db");
  EXPECT_EQ(set.cells[1].name, "web");
  ASSERT_EQ(set.volumes.size(), 1u);
  EXPECT_TRUE(set.conf.allow_host_mounts);

  DesiredSet none = load_desired("/nonexistent/etc/cellmgr");
  EXPECT_TRUE(none.problems.empty());
  EXPECT_TRUE(none.cells.empty());
}

TEST(Manifest, LoadDesiredReportsEveryBadFile) {
  char tmpl[] = "/tmp/cells-manifest-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto put = [&](const std::string& name, const std::string& text) {
    ASSERT_TRUE(write_file_atomic(dir + "/" + name, text));
  };
  put("a.cell", "name = \"a\"\ncommand = \"x\"\nreserved_ports = [80]\n");
  put("b.cell", "name = \"b\"\ncommand = \"x\"\nreserved_ports = [80]\n");
  put("c.cell", "name = \"c\"\n");
  put("v.volume", "name = \"v\"\nmode = \"0999\"\n");
  put(".a.cell.swp", "garbage");
  put("a.cell~", "garbage");
  put("a.apply", "DIR /x\n");
  DesiredSet set = load_desired(dir);
  std::vector<std::string> expected = {
      dir + "/c.cell: key 'command': required key is missing",
      dir + "/v.volume:2: key 'mode': must be four octal digits as a string, e.g. \"0755\"",
      dir + "/b.cell: port 80 is also reserved by cell 'a' (" + dir + "/a.cell)",
  };
  EXPECT_EQ(set.problems, expected);
  EXPECT_EQ(set.cells.size(), 2u);
  std::filesystem::remove_all(dir);
}


// Mutated inputs never crash the parsers, and every rejection names the file it came from.
TEST(Manifest, MutatedInputsFailCleanly) {
  std::mt19937 rng(1234);
  const std::string alphabet = "\"'[]{}=.,#\n \\0123456789azAZ:/-_\x01\xff";
  for (const char* name : {"web.cell", "db.cell", "web.apply"}) {
    auto original = read_file(data(name));
    ASSERT_TRUE(original);
    const std::string file = std::string("/etc/cellmgr/") + name;
    for (int round = 0; round < 1500; ++round) {
      std::string text = *original;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
          case 1: text.erase(at, 1 + rng() % 8); break;
          default: text.insert(at, 1, alphabet[rng() % alphabet.size()]);
        }
      }
      if (std::string(name).ends_with(".apply")) {
        auto r = parse_plan(file, text);
        if (!r) {
          EXPECT_TRUE(r.error().message().starts_with(file + ":")) << r.error().message();
        }
      } else {
        auto r = parse_cell(file, text);
        if (!r) {
          EXPECT_TRUE(r.error().message().starts_with(file)) << r.error().message();
        }
        if (r) {  // whatever parses must survive the round trip
          auto again = parse_cell(file, render_cell(*r));
          ASSERT_TRUE(again) << again.error().message() << "\n" << render_cell(*r);
          EXPECT_EQ(*again, *r);
        }
      }
    }
  }
}

}  // namespace
}  // namespace cells::engine
