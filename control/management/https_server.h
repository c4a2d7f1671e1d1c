// The I/O shell of remote management: an HTTPS listener (Boost.Beast over OpenSSL) on
// `management.listen`, serving RemoteApi (the JSON API and the web console). TLS, password
// checks and HTTP parsing run on a thread of its own, never on the control thread, so a
// slow client or a yescrypt check cannot hold the token; only the command itself runs on
// the control thread's io_context, through the same CommandTable as the local socket.
//
// Bounds: at most `management.max_connections` connections (more are closed at accept),
// request heads of kMaxHeaderBytes, bodies of kMaxBodyBytes, kHandshakeTimeout for the
// TLS handshake and each request, kIdleTimeout between requests of a kept-alive
// connection. A client speaking plain HTTP gets a 400 that names https:// and is closed.
#pragma once

#include "common/asio.h"

#include <memory>
#include <thread>

#include "common/expected.h"
#include "config/config.h"
#include "control/management/command_table.h"
#include "control/management/remote_api.h"

namespace ringgate::management {

class HttpsServer {
public:
    static constexpr size_t kMaxHeaderBytes = 8 * 1024;
    static constexpr size_t kMaxBodyBytes = 64 * 1024;
    static constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
    static constexpr auto kIdleTimeout = std::chrono::seconds(30);

    // `control` runs the commands; `commands` must outlive the server.
    HttpsServer(boost::asio::io_context& control, const CommandTable& commands);
    ~HttpsServer();

    // Loads the certificate and key, binds `settings.listen` and starts the server's thread.
    Expected<void> start(const config::Management& settings);
    // Stops accepting and joins the thread; call from the control thread.
    void stop();

    struct Impl;

private:
    boost::asio::io_context& control_;
    const CommandTable& commands_;
    std::unique_ptr<Impl> impl_;
    std::thread thread_;
};

}  // namespace ringgate::management
