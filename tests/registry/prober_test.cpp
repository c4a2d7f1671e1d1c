// The probes an agent can use besides ICMP, against real sockets on loopback: TCP connect
// (answered when something listens) and HTTP GET (answered only on a 2xx/3xx status).
#include <gtest/gtest.h>

#include "control/registry/line_connection.h"
#include "control/registry/prober.h"

namespace ringgate::registry {
namespace {

using namespace std::chrono_literals;

class ProberTest : public ::testing::Test {
protected:
    // A server on 127.0.0.1 that answers every connection with `reply` and closes.
    uint16_t serve(std::string reply) {
        acceptor_.open(tcp::v4());
        acceptor_.bind({boost::asio::ip::address_v4::loopback(), 0});
        acceptor_.listen();
        reply_ = std::move(reply);
        accept();
        return acceptor_.local_endpoint().port();
    }
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            auto s = std::make_shared<tcp::socket>(std::move(socket));
            auto buffer = std::make_shared<std::array<char, 512>>();
            s->async_read_some(boost::asio::buffer(*buffer), [this, s, buffer](boost::system::error_code, size_t) {
                boost::asio::async_write(*s, boost::asio::buffer(reply_), [s](boost::system::error_code, size_t) {});
            });
            accept();
        });
    }
    int answers(ProbeSpec spec) {
        Prober prober(io_, spec, std::nullopt);
        int count = 0;
        EXPECT_TRUE(prober.open([&](Ipv4Address) { ++count; }).ok());
        for (int i = 0; i < 3; ++i) prober.probe(*Ipv4Address::parse("127.0.0.1"), 500ms);
        io_.run_for(700ms);
        EXPECT_EQ(prober.sent(), 3u);
        return count;
    }

    boost::asio::io_context io_;
    tcp::acceptor acceptor_{io_};
    std::string reply_;
};

TEST_F(ProberTest, TcpAnswersWhenSomethingListens) {
    uint16_t port = serve("");
    EXPECT_EQ(answers({ProbeKind::Tcp, port, "/"}), 3);
    acceptor_.close();
    EXPECT_EQ(answers({ProbeKind::Tcp, port, "/"}), 0);
}

TEST_F(ProberTest, HttpNeedsASuccessStatus) {
    uint16_t port = serve("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(answers({ProbeKind::Http, port, "/healthz"}), 3);
    reply_ = "HTTP/1.0 503 Service Unavailable\r\n\r\n";
    EXPECT_EQ(answers({ProbeKind::Http, port, "/healthz"}), 0);
    reply_ = "garbage that is not HTTP at all\r\n";
    EXPECT_EQ(answers({ProbeKind::Http, port, "/healthz"}), 0);
}

}  // namespace
}  // namespace ringgate::registry
