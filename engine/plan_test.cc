#include "engine/plan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/files.h"
#include "engine/plan_patch.h"
#include "engine/template.h"

namespace cells::engine {
namespace {

namespace fs = std::filesystem;
const std::string kPlan = "/etc/cellmgr/web.apply";

std::string data(const std::string& name) { return std::string(CELLS_ENGINE_TESTDATA) + "/" + name; }

std::string plan_error(const std::string& text) {
  auto r = parse_plan(kPlan, text);
  if (r) return "(parsed fine)";
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
  return r.error().message();
}

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/cells-plan-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

TEST(Plan, ParsesExample) {
  auto loaded = load_plan(data("web.apply"));
  ASSERT_TRUE(loaded) << loaded.error().message();
  const auto& steps = loaded->plan.steps;
  ASSERT_EQ(steps.size(), 9u);
  EXPECT_EQ(steps[0].kind, StepKind::kPkg);
  EXPECT_EQ(steps[0].packages, (std::vector<std::string>{"busybox", "ca-certificates"}));
  EXPECT_EQ(steps[1].kind, StepKind::kDir);
  EXPECT_EQ(steps[1].attrs.mode, 0755u);
  EXPECT_EQ(steps[1].attrs.owner, "www-data");
  EXPECT_EQ(steps[2].kind, StepKind::kCopy);
  EXPECT_EQ(steps[2].source, "web/index.html");
  EXPECT_EQ(steps[3].kind, StepKind::kTemplate);
  EXPECT_EQ(steps[4].kind, StepKind::kLine);
  EXPECT_EQ(steps[4].path, "/etc/hosts");
  EXPECT_EQ(steps[4].text, "127.0.0.1 web.local");
  EXPECT_EQ(steps[5].kind, StepKind::kSymlink);
  EXPECT_EQ(steps[5].source, "/var/www/web");
  EXPECT_EQ(steps[5].path, "/srv/www");
  EXPECT_EQ(steps[6].kind, StepKind::kFile);
  EXPECT_EQ(steps[6].line, 8);
  EXPECT_EQ(steps[6].text,
            "Welcome to the web cell.\n# inside a block this is content, not a comment\n");
  EXPECT_EQ(steps[7].kind, StepKind::kPatch);
  ASSERT_EQ(steps[7].hunks.size(), 1u);
  EXPECT_EQ(steps[7].hunks[0].before,
            (std::vector<std::string>{"passwd: files", "hosts: files dns"}));
  EXPECT_EQ(steps[7].hunks[0].after, (std::vector<std::string>{"passwd: files", "hosts: files"}));
  EXPECT_EQ(steps[8].kind, StepKind::kExec);
  EXPECT_EQ(steps[8].text, "busybox httpd -t -c /etc/httpd.conf");
  EXPECT_EQ(loaded->assets.size(), 2u);
  EXPECT_EQ(loaded->hash.size(), 64u);
}

TEST(Plan, ParseErrorsCarryFileAndLine) {
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"# c\n\nFROB /x\n", "/etc/cellmgr/web.apply:3: unknown directive 'FROB'"},
      {"dir /x\n", "/etc/cellmgr/web.apply:1: directive 'dir' must be uppercase (DIR)"},
      {"DIR var/www\n", "/etc/cellmgr/web.apply:1: DIR: 'var/www' is not an absolute path"},
      {"DIR /var/../etc\n", "/etc/cellmgr/web.apply:1: DIR: '/var/../etc' has a '..' component"},
      {"DIR /\n", "/etc/cellmgr/web.apply:1: DIR: '/' cannot be a target"},
      {"DIR /x mode=999\n", "/etc/cellmgr/web.apply:1: DIR: mode '999' is not 3 or 4 octal digits"},
      {"DIR /x size=1\n", "/etc/cellmgr/web.apply:1: DIR: unknown option 'size='"},
      {"DIR /x owner=a owner=b\n", "/etc/cellmgr/web.apply:1: DIR: owner= given twice"},
      {"DIR /x owner=a:b\n", "/etc/cellmgr/web.apply:1: DIR: owner 'a:b' is not a name or numeric id"},
      {"DIR\n", "/etc/cellmgr/web.apply:1: DIR needs: DIR <abs-path> [mode= owner= group=]"},
      {"\nFILE_BEGIN /etc/motd\nhello\n",
       "/etc/cellmgr/web.apply:2: FILE_BEGIN /etc/motd is not terminated by FILE_END"},
      {"PATCH_BEGIN /etc/x\n@@\n-a\n+b\n",
       "/etc/cellmgr/web.apply:1: PATCH_BEGIN /etc/x is not terminated by PATCH_END"},
      {"FILE_END\n", "/etc/cellmgr/web.apply:1: FILE_END without a matching FILE_BEGIN"},
      {"PATCH_END\n", "/etc/cellmgr/web.apply:1: PATCH_END without a matching PATCH_BEGIN"},
      {"FILE_BEGIN etc/motd\nx\nFILE_END\n",
       "/etc/cellmgr/web.apply:1: FILE_BEGIN: 'etc/motd' is not an absolute path"},
      {"COPY /abs/asset /x\n",
       "/etc/cellmgr/web.apply:1: COPY: asset '/abs/asset' must be a path relative to the plan's "
       "directory"},
      {"COPY ../secret /x\n", "/etc/cellmgr/web.apply:1: COPY: asset '/../secret' has a '..' component"},
      {"TEMPLATE a\n",
       "/etc/cellmgr/web.apply:1: TEMPLATE needs: TEMPLATE <asset> <abs-path> [mode= owner= group=]"},
      {"SYMLINK /a\n", "/etc/cellmgr/web.apply:1: SYMLINK needs exactly: SYMLINK <target> <linkpath>"},
      {"SYMLINK /a b\n", "/etc/cellmgr/web.apply:1: SYMLINK: 'b' is not an absolute path"},
      {"LINE /etc/hosts 127.0.0.1\n", "/etc/cellmgr/web.apply:1: LINE needs: LINE <abs-path> | <text>"},
      {"LINE /etc/hosts |\n", "/etc/cellmgr/web.apply:1: LINE: the text after '|' is empty"},
      {"EXEC\n", "/etc/cellmgr/web.apply:1: EXEC needs a command"},
      {"PKG\n", "/etc/cellmgr/web.apply:1: PKG needs at least one package name"},
      {"PKG nginx ;rm\n", "/etc/cellmgr/web.apply:1: PKG: ';rm' is not a package name"},
      {"PATCH_BEGIN /etc/x\n-a\nPATCH_END\n",
       "/etc/cellmgr/web.apply:2: PATCH: a hunk must start with an '@@' line"},
      {"PATCH_BEGIN /etc/x\n@@\n*a\nPATCH_END\n",
       "/etc/cellmgr/web.apply:3: PATCH: a line must start with ' ', '-', '+' or '@@'"},
      {"PATCH_BEGIN /etc/x\n@@\n+a\nPATCH_END\n",
       "/etc/cellmgr/web.apply:2: PATCH: hunk needs at least one context (' ') line"},
      {"PATCH_BEGIN /etc/x\n@@\n a\nPATCH_END\n", "/etc/cellmgr/web.apply:2: PATCH: hunk changes nothing"},
      {"PATCH_BEGIN /etc/x\n@@\n-a\nPATCH_END\n",
       "/etc/cellmgr/web.apply:2: PATCH: hunk needs at least one context (' ') line"},
      {"PATCH_BEGIN /etc/x\nPATCH_END\n", "/etc/cellmgr/web.apply:1: PATCH_BEGIN /etc/x has no hunks"},
  };
  for (const Case& c : cases) EXPECT_EQ(plan_error(c.text), c.error) << c.text;
}

TEST(Plan, AssetsMustExistAndStayInThePlanDirectory) {
  ScratchDir dir;
  ASSERT_TRUE(make_dirs(dir / "plans/assets"));
  ASSERT_TRUE(write_file_atomic(dir / "secret", "host secret\n"));
  ASSERT_TRUE(write_file_atomic(dir / "plans/assets/ok.txt", "ok\n"));
  ASSERT_EQ(symlink((dir / "secret").c_str(), (dir / "plans/assets/abs-link").c_str()), 0);
  ASSERT_EQ(symlink("../../secret", (dir / "plans/assets/rel-link").c_str()), 0);
  ASSERT_EQ(symlink("ok.txt", (dir / "plans/assets/in-link").c_str()), 0);
  ASSERT_EQ(mkfifo((dir / "plans/assets/fifo").c_str(), 0600), 0);
  const std::string plan = dir / "plans/web.apply";
  const std::string assets = dir / "plans";

  auto ok = load_plan_text(plan, "COPY assets/in-link /x\n", assets);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->assets.at("assets/in-link"), "ok\n");

  auto missing = load_plan_text(plan, "\nCOPY assets/nope /x\n", assets);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), plan + ":2: asset 'assets/nope' not found in " + assets);
  for (const char* link : {"assets/abs-link", "assets/rel-link"}) {
    auto escaped = load_plan_text(plan, std::string("TEMPLATE ") + link + " /x\n", assets);
    ASSERT_FALSE(escaped) << link;
    EXPECT_EQ(escaped.error().message(),
              plan + ":1: asset '" + link + "' resolves outside " + assets);
  }
  auto fifo = load_plan_text(plan, "COPY assets/fifo /x\n", assets);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message(), plan + ":1: asset 'assets/fifo' is not a regular file");
}

TEST(Plan, HashChangesWithTextOrAnyAsset) {
  ScratchDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "a.txt", "one\n"));
  ASSERT_TRUE(write_file_atomic(dir / "b.txt", "two\n"));
  const std::string text = "COPY a.txt /a\nTEMPLATE b.txt /b\n";
  auto first = load_plan_text(dir / "c.apply", text, dir.path());
  ASSERT_TRUE(first) << first.error().message();
  auto same = load_plan_text(dir / "c.apply", text, dir.path());
  EXPECT_EQ(first->hash, same->hash);

  ASSERT_TRUE(write_file_atomic(dir / "b.txt", "two!\n"));
  auto asset_changed = load_plan_text(dir / "c.apply", text, dir.path());
  EXPECT_NE(asset_changed->hash, first->hash);

  auto text_changed = load_plan_text(dir / "c.apply", text + "# note\n", dir.path());
  EXPECT_NE(text_changed->hash, asset_changed->hash);

  // Length prefixes: moving bytes between name and content must not collide.
  EXPECT_NE(plan_hash("", {{"ab", "c"}}), plan_hash("", {{"a", "bc"}}));
}

TEST(Plan, StarterPlanParsesToNoSteps) {
  std::string text = starter_plan("web");
  auto plan = parse_plan("/etc/cellmgr/web.apply", text);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_TRUE(plan->steps.empty());
  EXPECT_NE(text.find("cell web"), std::string::npos);
}

TEST(Template, ExpandsKnownTokensAndRefusesUnknown) {
  auto tokens = plan_tokens("web", 7, "high", {{"port", "8080"}});
  ASSERT_TRUE(tokens) << tokens.error().message();
  auto out = expand_template("t", "name={{cell_name}} cid={{ cid }} {{profile}}:{{port}}\n", *tokens);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, "name=web cid=7 high:8080\n");

  auto unknown = expand_template("web/httpd.conf.tmpl", "a\nb {{cell_nmae}}\n", *tokens);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(),
            "web/httpd.conf.tmpl:2: unknown template token 'cell_nmae' (known: cell_name, cid, "
            "port, profile)");
  auto open = expand_template("t", "x {{cell_name\n}}", *tokens);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().message(), "t:1: '{{' is not closed by '}}' on the same line");
  EXPECT_FALSE(plan_tokens("web", 1, "high", {{"cid", "9"}}));
  EXPECT_FALSE(plan_tokens("web", 1, "high", {{"bad-name", "9"}}));
}

std::vector<PatchHunk> hunks_of(const std::string& body) {
  auto plan = parse_plan(kPlan, "PATCH_BEGIN /etc/x\n" + body + "PATCH_END\n");
  EXPECT_TRUE(plan) << plan.error().message();
  return plan ? plan->steps.at(0).hunks : std::vector<PatchHunk>{};
}

TEST(Patch, AppliedTwiceIsANoOp) {
  const std::string original = "passwd: files\nhosts: files dns\nnetworks: files\nrpc: files\n";
  auto hunks = hunks_of("@@\n passwd: files\n-hosts: files dns\n+hosts: files\n"
                        "@@ an addition\n networks: files\n+protocols: db files\n"
                        "@@ a removal\n protocols: db files\n-rpc: files\n");
  auto once = apply_patch(original, hunks, kPlan);
  ASSERT_TRUE(once) << once.error().message();
  EXPECT_TRUE(once->changed);
  EXPECT_EQ(once->content, "passwd: files\nhosts: files\nnetworks: files\nprotocols: db files\n");
  auto twice = apply_patch(once->content, hunks, kPlan);
  ASSERT_TRUE(twice) << twice.error().message();
  EXPECT_FALSE(twice->changed);
  EXPECT_EQ(twice->content, once->content);
}

TEST(Patch, ConflictsAreErrors) {
  auto hunks = hunks_of("@@\n passwd: files\n-hosts: files dns\n+hosts: files\n");
  auto conflict = apply_patch("passwd: compat\nhosts: dns\n", hunks, kPlan);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().message(),
            "/etc/cellmgr/web.apply:2: PATCH hunk does not apply: neither the original nor the "
            "patched text is present");
  auto twice = apply_patch("passwd: files\nhosts: files dns\npasswd: files\nhosts: files dns\n",
                           hunks, kPlan);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message(),
            "/etc/cellmgr/web.apply:2: PATCH hunk matches 2 places; add context lines");
  // Content without a final newline keeps that shape.
  auto no_nl = apply_patch("passwd: files\nhosts: files dns", hunks, kPlan);
  ASSERT_TRUE(no_nl);
  EXPECT_EQ(no_nl->content, "passwd: files\nhosts: files");
}

}  // namespace
}  // namespace cells::engine
