#include "cli/cellctl/supervise_daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/helper_path.h"
#include "base/paths.h"
#include "kernel/bpf_policy.h"
#include "kernel/cell.h"

namespace cells::cellctl {
namespace {

nlohmann::json limit_json(const std::optional<uint64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
std::optional<uint64_t> limit_from(const nlohmann::json& j) {
  return j.is_null() ? std::nullopt : std::optional<uint64_t>(j.get<uint64_t>());
}

nlohmann::json to_json(const kernel::SuperviseSpec& s) {
  nlohmann::json j = {
      {"cid", s.cid}, {"name", s.name}, {"argv", s.argv},
      {"rlimits", {limit_json(s.rlimits.nofile), limit_json(s.rlimits.as),
                   limit_json(s.rlimits.core)}},
      {"log", {s.log.facility, s.log.stdout_level, s.log.stderr_level, s.log.tag}},
      {"budget", {s.budget.restarts, s.budget.window.count()}},
      {"grace_ms", s.grace.count()}};
  if (s.run_as) j["run_as"] = {s.run_as->uid, s.run_as->gid, s.run_as->groups};
  if (s.health) {
    j["health"] = {{"argv", s.health->argv},
                   {"timeout_ms", s.health->timeout.count()},
                   {"interval_ms", s.health->interval.count()},
                   {"retries", s.health->retries}};
  }
  return j;
}

kernel::SuperviseSpec spec_from_json(const nlohmann::json& j) {
  kernel::SuperviseSpec s;
  s.cid = j.at("cid");
  s.name = j.at("name");
  s.argv = j.at("argv").get<std::vector<std::string>>();
  s.rlimits = {limit_from(j["rlimits"][0]), limit_from(j["rlimits"][1]),
               limit_from(j["rlimits"][2])};
  s.log.facility = j["log"][0];
  s.log.stdout_level = j["log"][1];
  s.log.stderr_level = j["log"][2];
  s.log.tag = j["log"][3];
  s.budget = {j["budget"][0].get<uint32_t>(), std::chrono::seconds(j["budget"][1].get<long>())};
  s.grace = std::chrono::milliseconds(j.at("grace_ms").get<long>());
  if (j.contains("run_as")) {
    s.run_as = kernel::Credentials{j["run_as"][0], j["run_as"][1],
                                   j["run_as"][2].get<std::vector<gid_t>>()};
  }
  if (j.contains("health")) {
    const auto& h = j["health"];
    s.health = kernel::HealthcheckSpec{
        h.at("argv").get<std::vector<std::string>>(),
        std::chrono::milliseconds(h.at("timeout_ms").get<long>()),
        std::chrono::milliseconds(h.at("interval_ms").get<long>()), h.at("retries").get<uint32_t>()};
  }
  return s;
}

}  // namespace

int run_supervise_daemon(const std::string& root) {
  int spec_fd = std::atoi(std::getenv(kSpecFdEnv));
  const char* ready_env = std::getenv(kReadyFdEnv);
  Fd ready(ready_env ? std::atoi(ready_env) : -1);
  ::fcntl(ready.get(), F_SETFD, FD_CLOEXEC);
  ::unsetenv(kSpecFdEnv);
  ::unsetenv(kReadyFdEnv);
  auto report = [&](const std::string& msg) {
    if (ready.valid()) (void)!::write(ready.get(), msg.data(), msg.size());
    ready.reset();
  };
  std::string text;
  {
    Fd fd(spec_fd);
    char buf[4096];
    for (ssize_t n; (n = ::pread(fd.get(), buf, sizeof buf, off_t(text.size()))) > 0;) {
      text.append(buf, size_t(n));
    }
  }
  kernel::SuperviseSpec spec;
  try {
    spec = spec_from_json(nlohmann::json::parse(text));
  } catch (const std::exception& e) {
    report(std::string("supervise: bad internal spec: ") + e.what());
    return 1;
  }
  auto paths = Paths::from_root(root);
  if (!paths) return report(paths.error().message()), 1;
  auto runtime = kernel::Runtime::open(*paths);
  if (!runtime) return report(runtime.error().message()), 1;
  auto cell = runtime->find(std::to_string(spec.cid));
  if (!cell) return report(cell.error().message()), 1;
  spec.cgroup_dir = paths->cgroup_parent() + "/" + cell->name;
  spec.init_pid = cell->init_pid;
  kernel::CellInfo info = *cell;
  auto& rt = *runtime;
  // The policy is loaded whenever a cell exists (create loads it); the supervisor only opens
  // its pinned maps to publish the cell's denial counters with its state. Opening, not
  // loading, keeps the BPF loader out of this long-running program. Should the pins be gone
  // (an unload while cells run), the counters stay at their last value until they are back.
  auto policy = std::make_shared<std::optional<kernel::BpfPolicy>>();
  Paths bpf_paths = *paths;
  uint32_t cid = spec.cid;
  auto sup = kernel::Supervisor::create(
      *paths, std::move(spec),
      [&rt, info](const kernel::SpawnOptions& opts) { return rt.spawn(info, opts); },
      [policy, bpf_paths, cid]() -> Result<kernel::DenialCounts> {
        if (!*policy) policy->emplace(CELLS_TRY(kernel::BpfPolicy::open_loaded(bpf_paths)));
        return (*policy)->denials(cid);
      });
  if (!sup) return report(sup.error().message()), 1;
  report("ready");
  auto st = sup->run();
  return st.ok() ? 0 : 1;
}

std::string encode_supervise_spec(const kernel::SuperviseSpec& spec) { return to_json(spec).dump(); }

std::string supervise_program() {
  if (const char* p = std::getenv("CELLS_SUPERVISE_PROGRAM"); p && *p) return p;
  // An installed cellctl uses the supervisor installed with it, never one of its build tree.
  if (auto installed = installed_helper_path("cells-supervise");
      !installed.empty() && ::access(installed.c_str(), X_OK) == 0) {
    return installed;
  }
#ifdef CELLS_SUPERVISE_PROGRAM_PATH
  if (::access(CELLS_SUPERVISE_PROGRAM_PATH, X_OK) == 0) return CELLS_SUPERVISE_PROGRAM_PATH;
#endif
  if (::access("/usr/libexec/cells/cells-supervise", X_OK) == 0) {
    return "/usr/libexec/cells/cells-supervise";
  }
  return "/proc/self/exe";
}

}  // namespace cells::cellctl
