// Reply (command.h): a command's answer on its way to its connection's Session.

#include <memory>
#include <utility>

#include "server/resp/command.h"
#include "server/resp/session.h"

namespace kv::server::resp {

Reply& Reply::operator=(Reply&& other) noexcept {
  if (this != &other) {
    if (session_ != nullptr) {
      buffer_.Clear();
      w().Error("ERR internal error: command dropped without an answer");
      Send();
    }
    session_ = std::move(other.session_);
    seq_ = other.seq_;
    protocol_ = other.protocol_;
    buffer_ = std::move(other.buffer_);
    write_version_ = other.write_version_;
    has_read_facts_ = other.has_read_facts_;
    read_facts_ = std::move(other.read_facts_);
  }
  return *this;
}

Reply::~Reply() {
  if (session_ == nullptr) return;
  buffer_.Clear();
  w().Error("ERR internal error: command dropped without an answer");
  Send();
}

void Reply::Adopt(Reply&& other) {
  if (session_ != nullptr) *this = Reply();  // answers "dropped" for the command it held
  session_ = std::move(other.session_);
  seq_ = other.seq_;
  protocol_ = other.protocol_;
  buffer_.Append(std::move(other.buffer_));
  write_version_ = other.write_version_;
  has_read_facts_ = other.has_read_facts_;
  if (has_read_facts_) read_facts_ = std::move(other.read_facts_);
}

void Reply::Recycle() {
  if (session_ != nullptr) *this = Reply();
  buffer_.Clear();
  write_version_ = 0;
  has_read_facts_ = false;
}

void Reply::Send() {
  if (session_ == nullptr) return;
  std::shared_ptr<Session> session = std::move(session_);
  Session::Deliver(std::move(session), *this);
}

}  // namespace kv::server::resp
