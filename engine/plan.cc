// Parser for the apply-plan language and the plan's identity hash.
#include "engine/plan.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <set>

#include "base/files.h"
#include "base/syscall.h"
#include "engine/manifest.h"
#include "engine/manifest_check.h"
#include "engine/rootwrite.h"

namespace cells::engine {
namespace {

constexpr std::string_view kDirectives[] = {"FILE_BEGIN", "FILE_END", "DIR",        "LINE",
                                            "SYMLINK",    "COPY",     "TEMPLATE",   "PATCH_BEGIN",
                                            "PATCH_END",  "EXEC",     "PKG"};

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t b = s.find_first_not_of(" \t", pos);
    if (b == std::string_view::npos) break;
    size_t e = s.find_first_of(" \t", b);
    if (e == std::string_view::npos) e = s.size();
    out.push_back(s.substr(b, e - b));
    pos = e;
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool valid_package(std::string_view p) {
  if (p.empty() || !std::isalnum(static_cast<unsigned char>(p[0]))) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-' ||
           c == '_' || c == ':';
  });
}

bool valid_account(std::string_view s) {
  return valid_name(s) ||
         (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

Reason check_asset_name(std::string_view name) {
  if (name.empty() || name[0] == '/') {
    return "asset '" + std::string(name) + "' must be a path relative to the plan's directory";
  }
  if (auto why = check_abs_path("/" + std::string(name))) return "asset " + *why;
  return std::nullopt;
}

class Parser {
 public:
  Parser(const std::string& file, std::string_view text) : file_(file), text_(text) {}

  Result<Plan> run() {
    Plan plan;
    plan.file = file_;
    plan.text = std::string(text_);
    size_t pos = 0;
    int line_no = 0;
    std::optional<PlanStep> block;  // an open FILE_BEGIN or PATCH_BEGIN
    std::vector<std::string> body;
    while (pos < text_.size()) {
      size_t nl = text_.find('\n', pos);
      std::string_view raw = text_.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      pos = nl == std::string_view::npos ? text_.size() : nl + 1;
      ++line_no;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      std::string_view line = trim(raw);
      if (block) {
        // Block bodies are verbatim: '#' and directive words inside them are content.
        bool file_block = block->kind == StepKind::kFile;
        if (line == (file_block ? "FILE_END" : "PATCH_END")) {
          CELLS_TRY(close_block(*block, body));
          plan.steps.push_back(std::move(*block));
          block.reset();
          body.clear();
        } else {
          body.emplace_back(raw);
        }
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      auto words = split_words(line);
      std::string_view directive = words[0];
      if (std::find(std::begin(kDirectives), std::end(kDirectives), directive) ==
          std::end(kDirectives)) {
        std::string up = upper(directive);
        if (std::find(std::begin(kDirectives), std::end(kDirectives), up) !=
            std::end(kDirectives)) {
          return error(line_no, "directive '" + std::string(directive) + "' must be uppercase (" +
                                    up + ")");
        }
        return error(line_no, "unknown directive '" + std::string(directive) + "'");
      }
      PlanStep step;
      step.line = line_no;
      std::string_view rest = trim(line.substr(directive.size()));
      if (directive == "FILE_END" || directive == "PATCH_END") {
        return error(line_no, std::string(directive) + " without a matching " +
                                  (directive == "FILE_END" ? "FILE_BEGIN" : "PATCH_BEGIN"));
      }
      CELLS_TRY(parse_directive(directive, rest, words, step));
      if (step.kind == StepKind::kFile || step.kind == StepKind::kPatch) {
        block = std::move(step);
      } else {
        plan.steps.push_back(std::move(step));
      }
    }
    if (block) {
      bool file_block = block->kind == StepKind::kFile;
      return error(block->line, std::string(to_string(block->kind)) + " " + block->path +
                                    " is not terminated by " +
                                    (file_block ? "FILE_END" : "PATCH_END"));
    }
    return plan;
  }

 private:
  Error error(int line, const std::string& msg) const {
    return Error::invalid(file_ + ":" + std::to_string(line) + ": " + msg);
  }

  Status parse_directive(std::string_view d, std::string_view rest,
                         const std::vector<std::string_view>& words, PlanStep& step) {
    const int ln = step.line;
    auto want_args = [&](size_t n, std::initializer_list<std::string_view> options,
                         const char* usage) -> Status {
      size_t positional = 0;
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i].find('=') == std::string_view::npos) {
          if (positional != i - 1) {
            return error(ln, std::string(d) + ": '" + std::string(words[i]) +
                                 "' after options (usage: " + usage + ")");
          }
          ++positional;
        }
      }
      if (positional != n) return error(ln, std::string(d) + " needs: " + usage);
      for (size_t i = 1 + n; i < words.size(); ++i) {
        CELLS_TRY(parse_option(d, words[i], options, step));
      }
      return {};
    };
    auto target_path = [&](std::string_view p) -> Status {
      if (auto why = check_abs_path(p)) return error(ln, std::string(d) + ": " + *why);
      if (p == "/") return error(ln, std::string(d) + ": '/' cannot be a target");
      step.path = std::string(p);
      return {};
    };
    auto asset = [&](std::string_view a) -> Status {
      if (auto why = check_asset_name(a)) return error(ln, std::string(d) + ": " + *why);
      step.source = std::string(a);
      return {};
    };

    if (d == "FILE_BEGIN") {
      step.kind = StepKind::kFile;
      CELLS_TRY(want_args(1, {"mode", "owner", "group"}, "FILE_BEGIN <abs-path> [mode= owner= group=]"));
      return target_path(words[1]);
    }
    if (d == "PATCH_BEGIN") {
      step.kind = StepKind::kPatch;
      CELLS_TRY(want_args(1, {}, "PATCH_BEGIN <abs-path>"));
      return target_path(words[1]);
    }
    if (d == "DIR") {
      step.kind = StepKind::kDir;
      CELLS_TRY(want_args(1, {"mode", "owner", "group"}, "DIR <abs-path> [mode= owner= group=]"));
      return target_path(words[1]);
    }
    if (d == "COPY" || d == "TEMPLATE") {
      step.kind = d == "COPY" ? StepKind::kCopy : StepKind::kTemplate;
      CELLS_TRY(want_args(2, {"mode", "owner", "group"},
                          d == "COPY" ? "COPY <asset> <abs-path> [mode= owner= group=]"
                                      : "TEMPLATE <asset> <abs-path> [mode= owner= group=]"));
      CELLS_TRY(asset(words[1]));
      return target_path(words[2]);
    }
    if (d == "SYMLINK") {
      step.kind = StepKind::kSymlink;
      if (words.size() != 3) return error(ln, "SYMLINK needs exactly: SYMLINK <target> <linkpath>");
      step.source = std::string(words[1]);
      return target_path(words[2]);
    }
    if (d == "LINE") {
      // LINE <path> | <text>: the text is everything after "| ", kept verbatim.
      step.kind = StepKind::kLine;
      size_t bar = rest.find('|');
      std::string_view path = trim(rest.substr(0, bar));
      if (bar == std::string_view::npos || path.empty() || split_words(path).size() != 1) {
        return error(ln, "LINE needs: LINE <abs-path> | <text>");
      }
      std::string_view text = rest.substr(bar + 1);
      if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
      if (text.empty()) return error(ln, "LINE: the text after '|' is empty");
      step.text = std::string(text);
      return target_path(path);
    }
    if (d == "EXEC") {
      step.kind = StepKind::kExec;
      if (rest.empty()) return error(ln, "EXEC needs a command");
      step.text = std::string(rest);
      return {};
    }
    // PKG
    step.kind = StepKind::kPkg;
    if (words.size() < 2) return error(ln, "PKG needs at least one package name");
    for (size_t i = 1; i < words.size(); ++i) {
      if (!valid_package(words[i])) {
        return error(ln, "PKG: '" + std::string(words[i]) + "' is not a package name");
      }
      step.packages.emplace_back(words[i]);
    }
    return {};
  }

  Status parse_option(std::string_view d, std::string_view word,
                      std::initializer_list<std::string_view> allowed, PlanStep& step) {
    const int ln = step.line;
    size_t eq = word.find('=');
    std::string_view key = word.substr(0, eq);
    std::string_view value = word.substr(eq + 1);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return error(ln, std::string(d) + ": unknown option '" + std::string(key) + "='");
    }
    if (key == "mode") {
      if (step.attrs.mode) return error(ln, std::string(d) + ": mode= given twice");
      auto mode = parse_octal_mode(value, /*allow_three=*/true);
      if (!mode) {
        return error(ln, std::string(d) + ": mode '" + std::string(value) +
                             "' is not 3 or 4 octal digits");
      }
      step.attrs.mode = *mode;
      return {};
    }
    auto& slot = key == "owner" ? step.attrs.owner : step.attrs.group;
    if (slot) return error(ln, std::string(d) + ": " + std::string(key) + "= given twice");
    if (!valid_account(value)) {
      return error(ln, std::string(d) + ": " + std::string(key) + " '" + std::string(value) +
                           "' is not a name or numeric id");
    }
    slot = std::string(value);
    return {};
  }

  Status close_block(PlanStep& step, const std::vector<std::string>& body) {
    if (step.kind == StepKind::kFile) {
      for (const std::string& l : body) step.text += l + "\n";
      return {};
    }
    // PATCH body: "@@" starts a hunk; ' ' context, '-' removed, '+' added; a blank line is a
    // blank context line (editors strip the lone space).
    for (size_t i = 0; i < body.size(); ++i) {
      const std::string& l = body[i];
      int ln = step.line + 1 + static_cast<int>(i);
      if (l.starts_with("@@")) {
        step.hunks.push_back(PatchHunk{ln, {}, {}});
        continue;
      }
      if (step.hunks.empty()) return error(ln, "PATCH: a hunk must start with an '@@' line");
      PatchHunk& h = step.hunks.back();
      char tag = l.empty() ? ' ' : l[0];
      std::string content = l.empty() ? "" : l.substr(1);
      if (tag == ' ') {
        h.before.push_back(content);
        h.after.push_back(content);
      } else if (tag == '-') {
        h.before.push_back(content);
      } else if (tag == '+') {
        h.after.push_back(content);
      } else {
        return error(ln, "PATCH: a line must start with ' ', '-', '+' or '@@'");
      }
    }
    if (step.hunks.empty()) return error(step.line, "PATCH_BEGIN " + step.path + " has no hunks");
    for (const PatchHunk& h : step.hunks) {
      if (h.before == h.after) return error(h.line, "PATCH: hunk changes nothing");
      // Context on both sides is what lets a re-run recognise an applied hunk: without it a
      // pure removal, once applied, would look the same as a conflict.
      bool has_context = std::any_of(h.before.begin(), h.before.end(), [&](const std::string& l) {
        return std::find(h.after.begin(), h.after.end(), l) != h.after.end();
      });
      if (!has_context) return error(h.line, "PATCH: hunk needs at least one context (' ') line");
    }
    return {};
  }

  const std::string& file_;
  std::string_view text_;
};

void put_len(EVP_MD_CTX* ctx, uint64_t n) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(n >> (8 * i));
  EVP_DigestUpdate(ctx, b, sizeof b);
}
void put_bytes(EVP_MD_CTX* ctx, std::string_view s) {
  put_len(ctx, s.size());
  EVP_DigestUpdate(ctx, s.data(), s.size());
}

}  // namespace

std::string_view to_string(StepKind kind) {
  switch (kind) {
    case StepKind::kFile: return "FILE_BEGIN";
    case StepKind::kDir: return "DIR";
    case StepKind::kLine: return "LINE";
    case StepKind::kSymlink: return "SYMLINK";
    case StepKind::kCopy: return "COPY";
    case StepKind::kTemplate: return "TEMPLATE";
    case StepKind::kPatch: return "PATCH_BEGIN";
    case StepKind::kExec: return "EXEC";
    case StepKind::kPkg: return "PKG";
  }
  return "?";
}

std::vector<std::string> Plan::asset_names() const {
  std::set<std::string> names;
  for (const PlanStep& s : steps) {
    if (s.kind == StepKind::kCopy || s.kind == StepKind::kTemplate) names.insert(s.source);
  }
  return {names.begin(), names.end()};
}

Result<Plan> parse_plan(const std::string& file, std::string_view text) {
  return Parser(file, text).run();
}

std::string starter_plan(const std::string& cell_name) {
  return "# Apply plan for cell " + cell_name +
         ", run by `cellmgr apply` inside the cell's root.\n"
         "# Paths are absolute inside the cell; assets are relative to this file's directory.\n"
         "#\n"
         "# PKG <name>...                        install with the base's package manager\n"
         "# DIR <path> [mode= owner= group=]     mkdir -p, then mode and owner\n"
         "# FILE_BEGIN <path> [mode= owner= group=] ... FILE_END   write the lines between\n"
         "# COPY <asset> <path> [mode= owner= group=]\n"
         "# TEMPLATE <asset> <path> [mode= owner= group=]   {{cell_name}} {{cid}} {{profile}}\n"
         "# LINE <path> | <text>                 ensure the exact line is present\n"
         "# SYMLINK <target> <linkpath>\n"
         "# PATCH_BEGIN <path> / @@ / ' ' keep, '-' remove, '+' add / PATCH_END\n"
         "# EXEC <command>                       run with /bin/sh -c inside the cell\n";
}

std::string plan_hash(std::string_view text, const std::map<std::string, std::string>& assets) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  put_bytes(ctx.get(), "cells-plan-v1");
  put_bytes(ctx.get(), text);
  put_len(ctx.get(), assets.size());
  for (const auto& [name, bytes] : assets) {  // std::map: sorted, so order is canonical
    put_bytes(ctx.get(), name);
    put_bytes(ctx.get(), bytes);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

Result<LoadedPlan> load_plan_text(const std::string& file, std::string_view text,
                                  const std::string& asset_dir) {
  LoadedPlan loaded;
  loaded.plan = CELLS_TRY(parse_plan(file, text));
  std::vector<std::string> names = loaded.plan.asset_names();
  if (!names.empty()) {
    Fd dir = CELLS_SYSCALL_FD(::open(asset_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                              "open plan directory " + asset_dir);
    for (const std::string& name : names) {
      int line = 0;
      for (const PlanStep& s : loaded.plan.steps) {
        if (s.source == name && (s.kind == StepKind::kCopy || s.kind == StepKind::kTemplate)) {
          line = s.line;
          break;
        }
      }
      std::string where = file + ":" + std::to_string(line) + ": asset '" + name + "'";
      // RESOLVE_BENEATH refuses (EXDEV) any resolution that leaves the plan directory, through
      // ".." or an absolute or relative symlink; O_NONBLOCK keeps a FIFO from hanging us.
      auto fd = open_resolved(dir.get(), name, O_RDONLY | O_NONBLOCK | O_CLOEXEC,
                              RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
      if (!fd) {
        int err = fd.error().sys_errno();
        if (err == ENOENT) return Error::not_found(where + " not found in " + asset_dir);
        if (err == EXDEV) return Error::invalid(where + " resolves outside " + asset_dir);
        return std::move(fd).error().wrap(where);
      }
      struct stat st;
      CELLS_SYSCALL(fstat(fd->get(), &st), where);
      if (!S_ISREG(st.st_mode)) return Error::invalid(where + " is not a regular file");
      loaded.assets[name] = CELLS_TRY_CTX(read_all(fd->get(), name), where);
    }
  }
  loaded.hash = plan_hash(text, loaded.assets);
  return loaded;
}

Result<LoadedPlan> load_plan(const std::string& file) {
  std::string text = CELLS_TRY(read_file(file));
  std::string dir = std::filesystem::path(file).parent_path().string();
  return load_plan_text(file, text, dir.empty() ? "." : dir);
}

}  // namespace cells::engine
