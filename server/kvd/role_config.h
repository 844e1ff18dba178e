#pragma once
// `kvd central|edge --config FILE`: a TOML file of the role's flags without their dashes
// (`data-dir = "/var/lib/kv"`, `tls-cert = "..."`). CLI11 2.1 processes config files only at
// the top-level command, where a key must name its subcommand (`central.data-dir`); RoleConfig
// reads the file as CLI11's TOML reader does and files every key that has no section under the
// role given on the command line, so one file per node needs no sections. Keys in a section
// (`[edge]`) are kept as they are. Flags on the command line win over the file (CLI11 only
// fills options the command line left unset).
//
// Used by main() only, on its thread.

#include <istream>
#include <vector>

#include "CLI/CLI.hpp"

namespace kv::server {

class RoleConfig : public CLI::ConfigTOML {
 public:
  // `roles`: the subcommands; the one that was parsed gets the unsectioned keys.
  explicit RoleConfig(std::vector<CLI::App*> roles) : roles_(std::move(roles)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
    const CLI::App* role = nullptr;
    for (const CLI::App* r : roles_) {
      if (r->parsed()) role = r;
    }
    if (role == nullptr) return items;
    for (CLI::ConfigItem& item : items) {
      if (item.parents.empty()) item.parents.push_back(role->get_name());
    }
    return items;
  }

 private:
  std::vector<CLI::App*> roles_;
};

}  // namespace kv::server
