#pragma once
// The request-framing rules of RFC 9112 section 6 that Boost.Beast's parser (1.74) does not
// enforce on its own. Beast reads `Transfer-Encoding: xchunked` or `chunked, identity` as "no
// body", and accepts Content-Length next to a Transfer-Encoding that is not chunked: a front
// proxy that frames the same bytes differently would let a second request be smuggled in. The
// connection checks every request head with CheckRequestFraming before reading a body, answers
// 400 and closes the connection on an error (docs/http.md, "Limits").
//
// Pure functions; thread-compatible.

#include <boost/beast/http/fields.hpp>

#include "absl/status/status.h"

namespace kv::server {

// OK when the head's framing is unambiguous:
//  - no Transfer-Encoding: Content-Length, if present (in one or several fields, or as a list),
//    is one decimal number, every copy the same;
//  - Transfer-Encoding (in one or several fields): only in HTTP/1.1, without Content-Length,
//    and its codings are exactly `chunked` (case-insensitive). Any other coding (gzip, identity,
//    xchunked, ...) is refused: the server decodes none, and a final coding other than chunked
//    leaves the body's end undefined.
// Otherwise InvalidArgument with a short reason (quoting at most 64 bytes of the client's text).
// `version` is 10 or 11.
absl::Status CheckRequestFraming(const boost::beast::http::fields& fields, unsigned version);

}  // namespace kv::server
