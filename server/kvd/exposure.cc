#include "server/kvd/exposure.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kv::server {

absl::string_view HostOfListen(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return address;
  absl::string_view host = address.substr(0, colon);
  // A bare IPv6 address without brackets and port ("::1") has no port to strip.
  if (host.find(':') != absl::string_view::npos && host.front() != '[') return address;
  return host;
}

bool IsLoopbackHost(absl::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::vector<ListenerFact> ExposedListeners(const ExposureFacts& facts) {
  std::vector<ListenerFact> exposed;
  for (const ListenerFact& l : facts.listeners) {
    if (l.address.empty()) continue;
    if (absl::StartsWith(l.address, "unix:") || absl::StartsWith(l.address, "unix-abstract:")) {
      continue;  // a Unix domain socket: local by nature
    }
    if (!IsLoopbackHost(HostOfListen(l.address))) exposed.push_back(l);
  }
  return exposed;
}

absl::Status CheckExposure(const ExposureFacts& facts) {
  if (facts.tls || facts.auth_required || facts.insecure) return absl::OkStatus();
  const std::vector<ListenerFact> exposed = ExposedListeners(facts);
  if (exposed.empty()) return absl::OkStatus();
  std::vector<std::string> named;
  for (const ListenerFact& l : exposed) named.push_back(absl::StrCat(l.flag, " ", l.address));
  return absl::FailedPreconditionError(absl::StrCat(
      absl::StrJoin(named, " and "), (exposed.size() == 1 ? " is" : " are"),
      " reachable from other hosts, but this node has neither TLS (--tls-cert, --tls-key) nor "
      "token authentication. Add them, listen on 127.0.0.1 only, or pass --insecure to serve "
      "in plain text to anyone who can connect"));
}

}  // namespace kv::server
