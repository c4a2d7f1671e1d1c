// The I/O shell of the management API: a Unix stream socket served on the control
// thread's io_context. One request per connection; CommandTable does the work.
#pragma once

#include "common/asio.h"

#include <memory>
#include <string>

#include "common/expected.h"
#include "control/management/command_table.h"

namespace ringgate::management {

class ManagementServer {
public:
    ManagementServer(boost::asio::io_context& io, const CommandTable& commands);
    ~ManagementServer();

    // Binds `path` (removing a stale socket left by a killed daemon) and starts accepting.
    // With a `group`, the socket belongs to it and its members may use it (mode 0660).
    Expected<void> listen(const std::string& path, const std::string& group = "");
    void close();

private:
    void acceptNext();

    boost::asio::io_context& io_;
    const CommandTable& commands_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::string path_;
};

}  // namespace ringgate::management
