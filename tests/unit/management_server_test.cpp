// The management socket's shell: the socket has its final mode from the start, a path
// that is not a socket is never removed, and at the open-file limit the accept loop
// pauses instead of spinning.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "control/management/management_server.h"
#include "tests/unit/fd_exhaustion.h"

namespace ringgate::management {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using stream = boost::asio::local::stream_protocol;

class ManagementServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/rg-mgmt-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
        commands_.add("ping", "ping", [](const Request&) { return Reply{true, "pong\n"}; }, Access::Read);
        commands_.add("poke", "poke", [this](const Request&) {
            ++pokes_;
            return Reply{true, "poked\n"};
        });
    }
    void TearDown() override { fs::remove_all(dir_); }

    // One request over the socket at `path`, served by running io_ meanwhile.
    std::string request(const std::string& path, const std::string& line) {
        stream::socket client(io_);
        client.connect(stream::endpoint(path));
        boost::asio::write(client, boost::asio::buffer(line));
        std::string reply;
        bool done = false;
        boost::asio::async_read(client, boost::asio::dynamic_buffer(reply),
                                [&](boost::system::error_code, size_t) { done = true; });
        auto deadline = std::chrono::steady_clock::now() + 3s;
        while (!done && std::chrono::steady_clock::now() < deadline) io_.run_for(20ms);
        return reply;
    }

    std::string dir_;
    boost::asio::io_context io_;
    CommandTable commands_;
    int pokes_ = 0;
};

TEST_F(ManagementServerTest, AReadOnlySocketAnswersReadsAndRefusesChanges) {
    ManagementServer control(io_, commands_), readOnly(io_, commands_);
    ASSERT_TRUE(control.listen(dir_ + "/c.sock").ok());
    ASSERT_TRUE(readOnly.listen(dir_ + "/r.sock", "", Access::Read).ok());
    EXPECT_EQ(request(dir_ + "/r.sock", "text ping\n"), "ok\npong\n");
    EXPECT_EQ(request(dir_ + "/r.sock", "json poke\n"),
              "error\n{\"error\":\"this socket is read-only: 'poke' changes state (use management.socket)\"}\n");
    EXPECT_EQ(pokes_, 0);
    EXPECT_EQ(request(dir_ + "/c.sock", "text poke\n"), "ok\npoked\n");
    EXPECT_EQ(pokes_, 1);
}

TEST_F(ManagementServerTest, AnUnknownGroupIsRefusedNamingItsField) {
    ManagementServer readOnly(io_, commands_);
    auto listened = readOnly.listen(dir_ + "/r.sock", "no-such-group-rg", Access::Read);
    ASSERT_FALSE(listened.ok());
    EXPECT_EQ(listened.error().message, "management.read_only_socket_group: no group 'no-such-group-rg' on this host");
}

TEST_F(ManagementServerTest, TheSocketHasItsFinalModeAndNothingIsLeftBehind) {
    ::umask(0);  // the widest umask: the mode must not come from it
    ManagementServer server(io_, commands_);
    std::string path = dir_ + "/m.sock";
    ASSERT_TRUE(server.listen(path).ok());
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
    EXPECT_EQ(entries, 1u);  // no temporary directory left
    ::umask(022);
}

// Defect: a typo in socket_path (pointing at a regular file) deleted that file.
TEST_F(ManagementServerTest, APathThatIsNotASocketIsNeverRemoved) {
    std::string path = dir_ + "/precious.txt";
    std::ofstream(path) << "keep me\n";
    ManagementServer server(io_, commands_);
    auto listened = server.listen(path);
    ASSERT_FALSE(listened.ok());
    EXPECT_NE(listened.error().message.find("not a socket"), std::string::npos);
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
}

// Defect: at the open-file limit the accept loop spun (85 % CPU) on EMFILE.
TEST_F(ManagementServerTest, AtTheOpenFileLimitAcceptingPausesInsteadOfSpinning) {
    ManagementServer server(io_, commands_);
    std::string path = dir_ + "/m.sock";
    ASSERT_TRUE(server.listen(path).ok());
    stream::socket client(io_);
    client.open();  // its descriptor exists before the limit is reached
    {
        test::FdExhaustion exhausted;
        boost::system::error_code ec;
        client.connect(stream::endpoint(path), ec);  // queued in the kernel; accept gets EMFILE
        ASSERT_FALSE(ec) << ec.message();
        double before = test::cpuSeconds();
        io_.run_for(1s);
        EXPECT_LT(test::cpuSeconds() - before, 0.3) << "the accept loop spins at EMFILE";
    }
    // Descriptors are back: the waiting client is served.
    boost::asio::write(client, boost::asio::buffer(std::string("text ping\n")));
    std::string reply;
    auto deadline = std::chrono::steady_clock::now() + 3s;
    boost::asio::async_read(client, boost::asio::dynamic_buffer(reply), [](boost::system::error_code, size_t) {});
    while (reply.find("pong") == std::string::npos && std::chrono::steady_clock::now() < deadline) io_.run_for(20ms);
    EXPECT_NE(reply.find("pong"), std::string::npos) << "reply: " << reply;
}

}  // namespace
}  // namespace ringgate::management
