// The one way replies become JSON text.
//
// Replies carry bytes that came from outside: a request's path, a command's name, a
// file's name, an address a peer sent. nlohmann's dump() throws on bytes that are not
// UTF-8, and an exception out of a request handler ends the daemon (found by
// tests/fuzz/fuzz_management_request.cpp: GET /api/<byte 0xff>). Invalid bytes become
// U+FFFD instead.
#pragma once

#include <string>

namespace ringgate::management {

// `value` as one line of JSON text, newline-terminated.
template <class Json>
std::string jsonLine(const Json& value) {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace ringgate::management
