// cellui's one connection to the world: an rpc::Client (the `cellmgr serve --stdio` bridge,
// local or over ssh) and the Snapshot built from its replies and pushed events.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/rpc/client.h"
#include "tui/model.h"
#include "tui/ui.h"

namespace cells::tui {

class Session {
 public:
  // How many journal entries cellui keeps (the newest).
  static constexpr uint32_t kJournalKeep = 1000;

  static Result<std::unique_ptr<Session>> open(rpc::ClientOptions options);

  // Readable when pump() has work; the same number across reconnect().
  int fd() const { return client_->fd(); }
  // "root /srv/cells" or "host web1" for the header.
  std::string where() const;

  // Reads everything again: cells, storage with every backup list, the journal's tail.
  Status refresh_all();
  // Volumes and overlays; with BACKUPS also every backup list (one call per row), else the
  // rows keep the backup lists they had.
  Status refresh_storage(bool backups);

  // Handles what the bridge pushed. Returns whether the snapshot changed; sets DROPPED to the
  // reason when the bridge went away. Storage is not read here (see catch_up).
  bool pump(std::optional<std::string>* dropped);
  // Reads what pushed events made stale (storage after a cell or backup change). Kept apart
  // from pump() so the caller redraws the pushed change first: a state change is on screen
  // before the slower storage reads. Returns whether it read anything.
  Result<bool> catch_up();
  const Snapshot& snapshot() const { return snap_; }

  // Carries out R through the bridge; the text is the status-bar message on success.
  Result<std::string> run(const Request& r);
  Result<std::vector<std::string>> shell_argv(const std::string& cell);
  Status reconnect();

 private:
  Session(rpc::ClientOptions options, std::unique_ptr<rpc::Client> client)
      : options_(std::move(options)), client_(std::move(client)) {}
  Status refresh_cells();
  Status refresh_journal();

  rpc::ClientOptions options_;
  std::unique_ptr<rpc::Client> client_;
  Snapshot snap_;
  bool storage_stale_ = false, backups_stale_ = false;
};

}  // namespace cells::tui
