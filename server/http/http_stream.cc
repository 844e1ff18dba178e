// Streamed answers (Server-Sent Events) on an HttpConnection: after the head and first chunk
// (written like any answer, without Content-Length), the connection stays in kStreaming and
// writes the chunks its owner hands over in order, one at a time (queued while one is being
// written), until End or a close.

#include "server/http/http_connection.h"

namespace kv::server {

void HttpStream::Write(std::string chunk) {
  if (connection_ != nullptr) HttpConnection::StreamWrite(connection_, std::move(chunk));
}

void HttpStream::End() {
  if (connection_ != nullptr) HttpConnection::StreamEnd(connection_);
}

template <typename F>
void HttpConnection::OnThread(std::shared_ptr<HttpConnection> self, F&& f) {
  absl::ReaderMutexLock lock(&self->shared_->mu);
  if (!self->shared_->open) return;
  boost::asio::post(self->executor_, [self, f = std::forward<F>(f)]() mutable { f(self.get()); });
}

void HttpConnection::StreamWrite(std::shared_ptr<HttpConnection> self, std::string chunk) {
  OnThread(std::move(self), [chunk = std::move(chunk)](HttpConnection* c) mutable {
    if (c->state_ == State::kClosed || (!c->socket_ && !c->tls_)) return;
    c->stream_queue_.push_back(std::move(chunk));
    if (c->state_ == State::kStreaming) c->WriteNextChunk();
  });
}

void HttpConnection::WriteNextChunk() {
  state_ = State::kWriting;
  stream_chunk_ = std::move(stream_queue_.front());
  stream_queue_.pop_front();
  head_left_ = {};
  body_left_ = stream_chunk_;
  WriteNext();
}

void HttpConnection::StreamEnd(std::shared_ptr<HttpConnection> self) {
  OnThread(std::move(self), [](HttpConnection* c) {
    c->stream_end_ = true;
    if (c->state_ == State::kStreaming) c->Close();
  });
}

void HttpConnection::OnStreamWritten() {
  ReleaseBody();  // the first chunk's hold, if any
  stream_chunk_.clear();
  state_ = State::kStreaming;
  if (stream_event_) stream_event_(true);
  if (state_ == State::kClosed) return;
  if (!stream_queue_.empty() && !closing_) {
    WriteNextChunk();
  } else if (stream_end_ || closing_) {
    Close();
  }
}

void HttpConnection::EndStreamEvents() {
  if (stream_event_ == nullptr) return;
  std::function<void(bool)> event = std::move(stream_event_);
  stream_event_ = nullptr;
  event(false);
}

}  // namespace kv::server
