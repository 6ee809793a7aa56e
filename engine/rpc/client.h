// cells::rpc::Client: the TUI's (and the tests') side of `cellmgr serve --stdio`.
//
// The client owns its transport: it starts `cellmgr [--root R] serve --stdio` (or
// `ssh HOST cellmgr [--root R] serve --stdio` for a remote host) with one end of a socketpair
// as the child's stdin and stdout, and speaks two-party Cap'n Proto RPC over it. Every call is
// synchronous and returns plain values (types.h). Events are queued by the client:
//
//   auto c = CELLS_TRY(rpc::Client::connect({.root = "/srv/cells"}));
//   for (;;) {
//     c->pump();                                     // read what arrived, never blocks
//     while (auto e = c->next_event()) redraw(*e);   // includes kDisconnected
//     select({terminal, c->fd()}, ...);              // fd(): readable when there is work
//   }
//
// Everything runs on the calling thread (a kj event loop the client owns): one Client per
// thread at a time, and no call from another thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/rpc/types.h"

namespace cells::rpc {

struct ClientOptions {
  std::string root;             // --root of the bridge ("" = the server's default)
  std::string host;             // "" = this host; else run the bridge through ssh
  std::string cellmgr = "cellmgr";  // the program to start (a path locally; remote: on PATH)
  std::vector<std::string> ssh = {"ssh"};  // the ssh command and its options, e.g. -p 2222
  std::string log_path;         // the bridge's stderr goes here ("" = inherit ours)
  std::vector<std::string> env; // "K=V" added to the local child's environment
  bool subscribe = true;        // ask for pushed events on connect
};

class Client {
 public:
  // Starts the bridge, checks its version (its major must equal ours) and subscribes.
  static Result<std::unique_ptr<Client>> connect(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Reads.
  Result<Version> version();
  Result<std::vector<CellInfo>> cells();
  Result<std::vector<VolumeInfo>> volumes();
  Result<std::vector<OverlayInfo>> overlays();
  Result<std::vector<BackupInfo>> backups(BackupKind kind, const std::string& name);
  // The newest LIMIT entries with seq < BEFORE (0: up to the end), of CELL if not empty.
  Result<std::vector<JournalRecord>> journal(const std::string& cell, uint32_t limit,
                                             uint64_t before = 0);
  Result<uint64_t> journal_head();
  Result<std::vector<CellTelemetry>> telemetry();

  // Actions. NAMES empty and ALL set: every declared cell (stop: every running cell).
  Result<std::vector<std::string>> start(const std::vector<std::string>& names, bool all = false);
  Result<std::vector<std::string>> stop(const std::vector<std::string>& names, bool all = false);
  Result<std::vector<std::string>> restart(const std::vector<std::string>& names, bool all = false);
  Result<ApplyResult> apply(const std::vector<std::string>& names, bool dry_run);
  Result<BackupMade> backup_create(BackupKind kind, const std::string& name);
  // FILE empty: the newest archive. STOP: stop the cells using the data and start them after.
  Result<RestoreDone> backup_restore(BackupKind kind, const std::string& name,
                                     const std::string& file, bool stop, bool with_manifest);
  Status backup_delete(BackupKind kind, const std::string& name, const std::string& file);
  // The argv to exec (with a terminal) for a shell in running cell NAME: the bridge's
  // `cellctl --root R exec NAME /bin/sh`, prefixed with `ssh -t HOST` for a remote bridge.
  Result<std::vector<std::string>> shell_command(const std::string& name);

  // Events. fd() is readable when pump() has input to process or next_event() has an event;
  // it stays the same number across reconnect().
  int fd() const;
  void pump();
  std::optional<Event> next_event();

  // False once the transport dropped (a kDisconnected event is queued then). Calls fail with
  // "bridge disconnected: ..." until reconnect() starts a new bridge.
  bool connected() const;
  Status reconnect();
  pid_t bridge_pid() const;  // the child process (cellmgr or ssh); 0 when none

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cells::rpc
