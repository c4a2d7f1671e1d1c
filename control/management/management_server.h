// The I/O shell of the management API: a Unix stream socket served on the control
// thread's io_context. One request per connection; CommandTable does the work.
#pragma once

#include "common/asio.h"

#include <memory>
#include <string>

#include "common/accept_loop.h"
#include "common/expected.h"
#include "control/management/command_table.h"

namespace ringgate::management {

class ManagementServer {
public:
    ManagementServer(boost::asio::io_context& io, const CommandTable& commands);
    ~ManagementServer();

    // Binds `path` (removing a stale socket left by a killed daemon, never a file that is
    // not a socket) with its final mode 0660 from the start, and starts accepting: at
    // most kMaxSessions at a time, pausing (not spinning) when out of descriptors. With a
    // `group`, the socket belongs to it and its members may use it. With `allowed`
    // Access::Read the socket answers only commands that change nothing (the others are
    // refused and logged with the asking uid): read access for a group of its own.
    Expected<void> listen(const std::string& path, const std::string& group = "", Access allowed = Access::Change);
    static constexpr size_t kMaxSessions = 64;
    void close();

private:

    boost::asio::io_context& io_;
    const CommandTable& commands_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    AcceptLoop<boost::asio::local::stream_protocol> accepts_;
    std::string path_;
    Access allowed_ = Access::Change;
};

}  // namespace ringgate::management
