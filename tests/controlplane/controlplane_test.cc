// End-to-end: bootstrap, manifests, start/stop with real cells, volumes, reads, bad input.
#include <gmock/gmock.h>
#include <sys/stat.h>

#include "base/files.h"
#include "tests/controlplane/harness.h"

namespace cells::controlplane::testing {
namespace {

using ::testing::HasSubstr;

class ControlPlane : public ControlPlaneTest {};

TEST_F(ControlPlane, BootstrapBuildsHostBaseAndIsIdempotent) {
  Outcome first = cellmgr({"system", "bootstrap"});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("FEATURE"));
  EXPECT_THAT(first.out, HasSubstr("built base host"));
  const std::string base = paths_->base_dir() + "/host";
  // Only the skeleton: root and nobody, and none of the host's secrets.
  auto passwd = read_file(base + "/etc/passwd");
  ASSERT_TRUE(passwd.ok());
  EXPECT_THAT(*passwd, HasSubstr("root:x:0:0"));
  EXPECT_THAT(*passwd, HasSubstr("nobody:x:65534"));
  EXPECT_EQ(std::count(passwd->begin(), passwd->end(), '\n'), 2);
  struct stat st;
  for (const char* secret : {"/etc/shadow", "/etc/ssh", "/root/.ssh", "/var/lib/dpkg", "/home/root"}) {
    EXPECT_NE(::stat((base + secret).c_str(), &st), 0) << secret;
  }
  ASSERT_EQ(::lstat((base + "/bin").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));

  auto before = etc_snapshot();
  Outcome second = cellmgr({"system", "bootstrap"});
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("Nothing to do"));
  EXPECT_EQ(etc_snapshot(), before);

  Outcome status = cellmgr({"system", "status"});
  ASSERT_EQ(status.status, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("bases         host"));
  EXPECT_THAT(status.out, HasSubstr("0 declared, 0 running"));
}

TEST_F(ControlPlane, HttpdCellServesFromVolumeAndStopsClean) {
  bootstrap();
  const std::string port = std::to_string(free_port());
  ASSERT_EQ(cellmgr({"volume", "create", "www", "-m", "0755", "--scope", "both"}).status, 0);
  Outcome c = cellmgr({"cell", "create", "mysite-edge-httpd", "--autostart", "YES", "--profile",
                   "medium", "--reserved-ports", port, "--log-facility", "local1",
                   "--stdout-level", "info", "--stderr-level", "err", "--log-tag", "edge",
                   "--cmd", "busybox httpd -f -p " + port + " -h /var/www/x", "--healthcheck",
                   "test -f /var/www/x/index.html", "--mount", "www:/var/www/x", "--scope",
                   "desired"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "Created manifest " + paths_->etc_dir() + "/mysite-edge-httpd.cell\n");
  struct stat st;
  EXPECT_EQ(::stat((paths_->etc_dir() + "/mysite-edge-httpd.apply").c_str(), &st), 0);
  ASSERT_TRUE(write_file_atomic(paths_->volumes_dir() + "/www/index.html", "hello cells\n").ok());

  Outcome start = cellmgr({"cell", "start", "mysite-edge-httpd"});
  ASSERT_EQ(start.status, 0) << start.err;
  Outcome fetched;
  for (int i = 0; i < 50; ++i) {  // the service binds shortly after its supervisor is ready
    fetched = host({"curl", "-sf", "--max-time", "2", "http://127.0.0.1:" + port + "/index.html"});
    if (fetched.status == 0) break;
    ::usleep(100 * 1000);
  }
  EXPECT_EQ(fetched.status, 0) << fetched.err;
  EXPECT_EQ(fetched.out, "hello cells\n");

  Outcome list = cellmgr({"cell", "list", "-o", "name,running,cid,age"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_THAT(list.out, ::testing::MatchesRegex(
                            "NAME               RUNNING  CID  AGE\n"
                            "mysite-edge-httpd  YES      [0-9]+ +[0-9]+s\n"));
  Outcome tsv = cellmgr({"cell", "list", "-T", "-H", "-o", "name,running,autostart"});
  EXPECT_EQ(tsv.out, "mysite-edge-httpd\t1\t1\n");
  Outcome vols = cellmgr({"volume", "list", "-T", "-o", "name,state,mounted,refs,used_by"});
  EXPECT_EQ(vols.out, "name\tstate\tmounted\trefs\tused_by\nwww\tmanaged\t1\t1\tmysite-edge-httpd\n");
  EXPECT_FALSE(mounts_under_root().empty());

  // A volume in use is not removed, and nothing changes.
  auto etc = etc_snapshot();
  uint64_t gen = generation();
  Outcome rm = cellmgr({"volume", "remove", "www", "--scope", "both", "--yes"});
  EXPECT_NE(rm.status, 0);
  EXPECT_THAT(rm.err, HasSubstr("referenced by cell manifest(s) mysite-edge-httpd"));
  EXPECT_EQ(etc_snapshot(), etc);
  EXPECT_EQ(generation(), gen);
  Outcome rm_data = cellmgr({"volume", "remove", "www", "--scope", "runtime", "--yes"});
  EXPECT_NE(rm_data.status, 0);
  EXPECT_THAT(rm_data.err, HasSubstr("is mounted at " + paths_->cells_dir() + "/mysite-edge-httpd/root/var/www/x"));
  EXPECT_EQ(::stat((paths_->volumes_dir() + "/www/index.html").c_str(), &st), 0);

  Outcome stop = cellmgr({"cell", "stop", "mysite-edge-httpd"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(mounts_under_root().empty());
  EXPECT_FALSE(cgroup_parent_exists());
  EXPECT_TRUE(supervisors().empty());
  EXPECT_NE(host({"curl", "-sf", "--max-time", "1", "http://127.0.0.1:" + port + "/"}).status, 0);
  Outcome after = cellmgr({"cell", "list", "-T", "-H", "-o", "name,state,running"});
  EXPECT_EQ(after.out, "mysite-edge-httpd\tmanaged\t0\n");

  // A reset of the cells' state leaves no kernel object of this root behind: with no cell
  // left, the BPF pins go too, and the next start loads them again.
  ASSERT_EQ(::stat(paths_->bpf_pin_dir().c_str(), &st), 0);
  Outcome reset = cellmgr({"system", "reset", "--cells", "--yes"});
  ASSERT_EQ(reset.status, 0) << reset.err;
  EXPECT_THAT(reset.out, HasSubstr("unloaded the cell BPF programs"));
  EXPECT_NE(::stat(paths_->bpf_pin_dir().c_str(), &st), 0);
  Outcome again = cellmgr({"cell", "start", "mysite-edge-httpd"});
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(::stat(paths_->bpf_pin_dir().c_str(), &st), 0);
  ASSERT_EQ(cellmgr({"cell", "stop", "mysite-edge-httpd"}).status, 0);
}

TEST_F(ControlPlane, SharedVolumeIsWritableInOneCellAndReadOnlyInTheOther) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "shared"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "writer", "--profile", "medium", "--cmd",
                     "echo from-writer > /data/f; exec sleep 1000", "--mount", "shared:/data:rw"})
                .status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "reader", "--profile", "medium", "--cmd", "sleep 1000",
                     "--mount", "shared:/srv/data:ro"}).status, 0);
  Outcome start = cellmgr({"cell", "start", "--all"});
  ASSERT_EQ(start.status, 0) << start.err;
  for (int i = 0; i < 50 && !read_file(paths_->volumes_dir() + "/shared/f").ok(); ++i) ::usleep(100000);
  Outcome r = cellmgr({"cell", "shell", "reader", "/bin/sh", "-c", "cat /srv/data/f; echo x > /srv/data/g"});
  EXPECT_EQ(r.out, "from-writer\n");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("Read-only file system"));
  struct stat st;
  EXPECT_NE(::stat((paths_->volumes_dir() + "/shared/g").c_str(), &st), 0);
  // The host /usr is read-only in the cell, and the host's secrets are not there.
  Outcome secrets = cellmgr({"cell", "shell", "reader", "/bin/sh", "-c",
                         "cat /etc/hostname; test ! -e /etc/shadow && echo no-shadow; "
                         "touch /usr/evil 2>&1; ls /home | wc -l"});
  EXPECT_THAT(secrets.out, HasSubstr("reader\n"));
  EXPECT_THAT(secrets.out, HasSubstr("no-shadow\n"));
  EXPECT_THAT(secrets.out, HasSubstr("Read-only file system"));
  Outcome stop = cellmgr({"cell", "stop", "--all"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(mounts_under_root().empty());
}

TEST_F(ControlPlane, HighProfileCellGetsItsOwnIdmappedRoot) {
  bootstrap();
  // The default profile is high: the runtime idmaps the whole root into the cell's user
  // namespace, so the root is the cell's own layer with the host /usr bound read-only.
  ASSERT_EQ(cellmgr({"cell", "create", "hi", "--cmd", "sleep 1000"}).status, 0);
  Outcome start = cellmgr({"cell", "start", "hi"});
  ASSERT_EQ(start.status, 0) << start.err;
  Outcome r = cellmgr({"cell", "shell", "hi", "/bin/sh", "-c",
                       "cat /etc/hostname; id -u; cat /proc/self/uid_map; "
                       "touch /tmp/ok && echo tmp-writable; touch /usr/evil 2>&1; "
                       "test -e /etc/shadow || echo no-shadow"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex("hi\n0\n +0 +[1-9][0-9]+ +[0-9]+\ntmp-writable\n.*Read-only file system\nno-shadow\n"));
  // The idmapped root stores the cell root's files as uid 0 on disk (the mapping is the
  // mount's), inside the cell's own layer.
  struct stat st;
  ASSERT_EQ(::stat((paths_->cells_dir() + "/hi/overlay/tmp/ok").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  ASSERT_EQ(cellmgr({"cell", "stop", "hi"}).status, 0);
  EXPECT_TRUE(mounts_under_root().empty());
  // A second start reuses the cell's layer (its files persist).
  ASSERT_EQ(cellmgr({"cell", "restart", "hi"}).status, 0);
  EXPECT_EQ(::stat((paths_->cells_dir() + "/hi/overlay/tmp/ok").c_str(), &st), 0);
}

TEST_F(ControlPlane, HighProfileRwVolumeIsWritableAndTheRestOfEtcIsNot) {
  bootstrap();
  // A high cell may write only its writable paths and rw volumes (Landlock), so the volume's
  // target must reach every later spawn through the kernel registry, not only the service.
  ASSERT_EQ(cellmgr({"volume", "create", "data", "--scope", "both"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "hv", "--cmd", "sleep 1000", "--mount", "data:/data:rw"})
                .status, 0);
  Outcome start = cellmgr({"cell", "start", "hv"});
  ASSERT_EQ(start.status, 0) << start.err;
  Outcome r = cellmgr({"cell", "shell", "hv", "/bin/sh", "-c",
                       "touch /data/x && echo wrote-data; touch /etc/y 2>&1; true"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote-data\n"));
  EXPECT_THAT(r.out, HasSubstr("Permission denied"));
  struct stat st;
  ASSERT_EQ(::stat((paths_->volumes_dir() + "/data/x").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // the volume is idmapped: cell root's files are host uid 0 on disk
  ASSERT_EQ(cellmgr({"cell", "stop", "hv"}).status, 0);
  EXPECT_TRUE(mounts_under_root().empty());
}

TEST_F(ControlPlane, ListNamesAManifestThatDoesNotParse) {
  ASSERT_EQ(cellmgr({"cell", "create", "good", "--cmd", "sleep 1"}).status, 0);
  ASSERT_TRUE(write_file_atomic(paths_->etc_dir() + "/bad.cell",
                                "name = \"bad\"\ncommand = \"x\"\nbogus = 1\n").ok());
  Outcome r = cellmgr({"cell", "list", "-T", "-H", "-o", "name"});
  EXPECT_EQ(r.out, "good\n");  // the valid cells are still listed
  EXPECT_EQ(r.status, 1);       // but the read fails, naming the file, line, key and reason
  EXPECT_EQ(r.err, "cellmgr: " + paths_->etc_dir() + "/bad.cell:3: key 'bogus': unknown key\n");
}

TEST_F(ControlPlane, StartCleansUpTheMountsOfAnInterruptedStart) {
  bootstrap();
  ASSERT_EQ(cellmgr({"cell", "create", "crashy", "--profile", "medium", "--cmd", "sleep 1000"}).status, 0);
  // What a start killed between mounting and creating the cell leaves behind.
  const std::string root = paths_->cells_dir() + "/crashy/root";
  ASSERT_EQ(host({"mkdir", "-p", root}).status, 0);
  ASSERT_EQ(host({"mount", "-t", "tmpfs", "leftover", root}).status, 0);
  ASSERT_EQ(mounts_under_root().size(), 1u);
  Outcome start = cellmgr({"cell", "start", "crashy"});
  ASSERT_EQ(start.status, 0) << start.err;
  Outcome r = cellmgr({"cell", "shell", "crashy", "cat", "/etc/hostname"});
  EXPECT_EQ(r.out, "crashy\n");
  ASSERT_EQ(cellmgr({"cell", "stop", "crashy"}).status, 0);
  EXPECT_TRUE(mounts_under_root().empty());
}

TEST_F(ControlPlane, DependenciesStartFirstAndStopLast) {
  bootstrap();
  ASSERT_EQ(cellmgr({"cell", "create", "db", "--profile", "low", "--cmd", "sleep 1000"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "app", "--profile", "low", "--cmd", "sleep 1000",
                     "--depends-on", "db"}).status, 0);
  Outcome start = cellmgr({"cell", "start", "app", "--scope", "both"});
  ASSERT_EQ(start.status, 0) << start.err;
  EXPECT_EQ(start.out, "Started cell db\nStarted cell app\n");
  Outcome list = cellmgr({"cell", "list", "-T", "-H", "-o", "name,state,running,autostart"});
  EXPECT_EQ(list.out, "app\tmanaged\t1\t1\ndb\tparked\t1\t0\n");
  Outcome stop = cellmgr({"cell", "stop", "--all"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_EQ(stop.out, "Stopped cell app\nStopped cell db\n");

  // create --scope both with autostart: a targeted reconcile starts it right away.
  Outcome web = cellmgr({"cell", "create", "web", "--profile", "low", "--autostart", "YES",
                         "--cmd", "sleep 1000", "--scope", "both"});
  ASSERT_EQ(web.status, 0) << web.err;
  EXPECT_THAT(web.out, HasSubstr("Started cell web"));
  // remove --scope both of a running cell: stopped, its layer and its manifest gone.
  EXPECT_NE(cellmgr({"cell", "remove", "web", "--scope", "both"}).status, 0);  // no --yes, no tty
  Outcome rm = cellmgr({"cell", "remove", "web", "--scope", "both", "--yes"});
  ASSERT_EQ(rm.status, 0) << rm.err;
  struct stat st;
  EXPECT_NE(::stat((paths_->cells_dir() + "/web").c_str(), &st), 0);
  EXPECT_NE(::stat((paths_->etc_dir() + "/web.cell").c_str(), &st), 0);
  EXPECT_TRUE(mounts_under_root().empty());
}

TEST_F(ControlPlane, BadInputIsRefusedAndChangesNothing) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "v"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "a", "--cmd", "sleep 1", "--reserved-ports", "20001",
                     "--mount", "v:/data"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "b", "--cmd", "sleep 1", "--depends-on", "a"}).status, 0);
  const auto etc = etc_snapshot();
  const uint64_t gen = generation();
  ASSERT_GT(gen, 0u);
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string message;
  };
  const std::string bad_editor = "EDITOR=sed -i 1icolour=1";
  std::vector<Case> cases = {
      {{"cell", "edit", "a"}, {bad_editor}, "a.cell:1: key 'colour': unknown key"},
      {{"cell", "create", "c", "--cmd", "x", "--reserved-ports", "70000"}, {}, "'70000' is not a port"},
      {{"cell", "create", "c", "--cmd", "x", "--reserved-ports", "20001"}, {}, "port 20001 is also reserved by cell 'a'"},
      {{"cell", "create", "c", "--cmd", "x", "--mount", "missing:/data"}, {}, "volume 'missing', which has no manifest"},
      {{"cell", "set", "a", "--depends-on", "b"}, {}, "dependency cycle"},
      {{"cell", "create", "c", "--cmd", "x", "--mount", "v:/"}, {}, "'/' cannot be a mount target"},
      {{"cell", "create", "c", "--cmd", "x", "--mount", "v:/dev/x"}, {}, "under /dev"},
      {{"cell", "create", "c", "--cmd", "x", "--mount", "v:/srv", "--mount", "v:/srv/a"}, {}, "overlaps"},
      {{"cell", "create", "a", "--cmd", "x"}, {}, "exists already"},
      {{"cell", "create", "c"}, {}, "needs --cmd"},
      {{"cell", "create", "c", "--cmd", "x", "--reload-signal", "KILL"}, {}, "key 'reload_signal': unknown signal 'KILL'"},
      {{"volume", "remove", "v"}, {}, "referenced by cell manifest(s) a"},
      {{"volume", "create", "w", "-m", "755"}, {}, "four octal digits"},
      {{"cell", "list", "-o", "name,colour"}, {}, "unknown cell field 'colour' (valid: name, state"},
      {{"cell", "remove", "--all"}, {}, "pass --yes"},
      {{"system", "reset"}, {}, "pass --yes"},
      {{"cell", "remove", "--orphans"}, {}, "--orphans needs --scope runtime or both"},
  };
  for (const auto& c : cases) {
    Outcome r = cellmgr(c.args, c.env);
    std::string what = c.args[0] + " " + c.args[1];
    EXPECT_NE(r.status, 0) << what;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << what;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << ": " << r.err;
    EXPECT_EQ(r.err.rfind("cellmgr: ", 0), 0u) << r.err;
    EXPECT_EQ(etc_snapshot(), etc) << what;
    EXPECT_EQ(generation(), gen) << what;
  }
  // A valid edit through the same path does change things (the cases above could fail).
  Outcome ok = cellmgr({"cell", "set", "b", "--autostart", "YES"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(generation(), gen + 1);
}

TEST_F(ControlPlane, SetReplacesMountsOnFirstAndRemoveCommitsAGeneration) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "v1"}).status, 0);
  ASSERT_EQ(cellmgr({"volume", "create", "v2"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "create", "c", "--cmd", "sleep 1", "--mount", "v1:/a"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "set", "c", "--mount", "v2:/b:ro", "--mount", "v1:/c"}).status, 0);
  Outcome show = cellmgr({"cell", "show", "c", "-T", "-H", "-o", "volume_mounts"});
  EXPECT_EQ(show.out, "v2:/b:ro,v1:/c:rw\n");
  uint64_t gen = generation();
  Outcome rm = cellmgr({"cell", "remove", "c"});
  ASSERT_EQ(rm.status, 0) << rm.err;
  EXPECT_EQ(generation(), gen + 1);
  auto etc = etc_snapshot();
  EXPECT_EQ(etc.count("c.cell"), 0u);
  EXPECT_EQ(etc.count("c.apply"), 0u);
  Outcome vrm = cellmgr({"volume", "remove", "v1"});
  EXPECT_EQ(vrm.status, 0) << vrm.err;
  Outcome json = cellmgr({"volume", "list", "--json", "-o", "name,refs"});
  EXPECT_EQ(json.out, "[\n  {\n    \"name\": \"v2\",\n    \"refs\": 0\n  }\n]\n");
}

}  // namespace
}  // namespace cells::controlplane::testing
