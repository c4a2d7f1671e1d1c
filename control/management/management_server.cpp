#include "control/management/management_server.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/log.h"

namespace ringgate::management {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

constexpr size_t kMaxRequestBytes = 4096;
constexpr auto kClientTimeout = std::chrono::seconds(5);

// One connection: read a line (bounded, with a deadline), answer, close.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(stream::socket socket, const CommandTable& commands, Access allowed, std::shared_ptr<void> ticket)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), commands_(commands), allowed_(allowed),
          ticket_(std::move(ticket)) {}

    void start() {
        timer_.expires_after(kClientTimeout);
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->socket_.close();  // a silent client does not hold a socket forever
        });
        asio::async_read_until(socket_, asio::dynamic_buffer(buffer_, kMaxRequestBytes), '\n',
                               [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                                   self->onRequest(ec, n);
                               });
    }

private:
    void onRequest(boost::system::error_code ec, size_t length) {
        Reply reply;
        if (ec) {
            if (ec == asio::error::operation_aborted || ec == asio::error::eof ||
                ec == asio::error::bad_descriptor)
                return;
            reply = Reply::error(Format::Text, "request too long or unreadable: " + ec.message());
        } else {
            auto parsed = parseRequest(std::string_view(buffer_).substr(0, length));
            parsed.request.who = peer();
            parsed.request.uid = peerUid();
            reply = !parsed.ok ? Reply::error(Format::Text, parsed.error) : answer(parsed.request);
        }
        out_ = encodeReply(reply);
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](boost::system::error_code, size_t) {
                              self->timer_.cancel();
                              boost::system::error_code ignored;
                              self->socket_.shutdown(stream::socket::shutdown_both, ignored);
                              self->socket_.close(ignored);
                          });
    }

    Reply answer(const Request& request) {
        if (allowed_ == Access::Read && commands_.accessOf(request.command) == Access::Change) {
            RG_WARN(Management, "operator %s: '%s' refused on the read-only socket", request.who.c_str(),
                    request.command.c_str());
            return Reply::error(request.format, "this socket is read-only: '" + request.command +
                                                    "' changes state (use management.socket)");
        }
        return commands_.dispatch(request);
    }

    // Who is asking, for the log of every change: the peer's uid (SO_PEERCRED).
    std::string peer() {
        auto uid = peerUid();
        return uid ? "uid " + std::to_string(*uid) : "uid ?";
    }
    std::optional<uint32_t> peerUid() {
        ucred cred{};
        socklen_t size = sizeof cred;
        if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return std::nullopt;
        return cred.uid;
    }

    stream::socket socket_;
    asio::steady_timer timer_;
    const CommandTable& commands_;
    Access allowed_;
    std::string buffer_;
    std::string out_;
    std::shared_ptr<void> ticket_;  // a place under kMaxSessions while the session lives
};

// Binds `path` with mode 0660 from its first moment: the socket is bound inside a fresh
// 0700 directory next to it, given its mode there, and renamed into place (atomic; no
// window in which a wider mode, set by the umask, lets others connect).
Expected<void> bindWithMode(stream::acceptor& acceptor, const std::string& path) {
    std::filesystem::path target(path);
    std::string private_ = (target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path()) / ".rgXXXXXX";
    if (!::mkdtemp(private_.data())) return makeError("management socket " + path + ": mkdtemp: " + std::strerror(errno));
    std::string temporary = private_ + "/s";
    boost::system::error_code ec;
    acceptor.open(stream(), ec);
    if (!ec) acceptor.bind(stream::endpoint(temporary), ec);
    std::string failure = ec ? ec.message() : "";
    if (!ec && ::chmod(temporary.c_str(), 0660) != 0) failure = std::string("chmod: ") + std::strerror(errno);
    if (failure.empty() && ::rename(temporary.c_str(), path.c_str()) != 0)
        failure = std::string("rename: ") + std::strerror(errno);
    ::unlink(temporary.c_str());  // (gone after a successful rename)
    ::rmdir(private_.c_str());
    if (!failure.empty()) return makeError("management socket " + path + ": " + failure);
    return {};
}

std::string groupField(Access allowed) {
    return allowed == Access::Read ? "management.read_only_socket_group" : "management.socket_group";
}

}  // namespace

ManagementServer::ManagementServer(asio::io_context& io, const CommandTable& commands)
    : io_(io), commands_(commands), acceptor_(io),
      accepts_(acceptor_, kMaxSessions, std::chrono::milliseconds(200),
               [this](stream::socket socket, std::shared_ptr<void> ticket) {
                   std::make_shared<Session>(std::move(socket), commands_, allowed_, std::move(ticket))->start();
               }) {}

ManagementServer::~ManagementServer() { close(); }

Expected<void> ManagementServer::listen(const std::string& path, const std::string& group, Access allowed) {
    allowed_ = allowed;
    std::optional<gid_t> gid;
    if (!group.empty()) {
        struct group buffer {};
        struct group* found = nullptr;
        std::vector<char> scratch(16384);
        if (::getgrnam_r(group.c_str(), &buffer, scratch.data(), scratch.size(), &found) != 0 || !found)
            return makeError(groupField(allowed) + ": no group '" + group + "' on this host");
        gid = found->gr_gid;
    }
    std::error_code fsError;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fsError);
    if (fsError)
        return makeError("create directory for " + path + ": " + fsError.message());

    // A socket file left by a killed daemon: remove it only if nobody answers on it, and
    // never remove anything that is not a socket (a typo must not delete a file).
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode)) return makeError(path + " exists and is not a socket: not touching it");
        stream::socket probe(io_);
        boost::system::error_code ec;
        probe.connect(stream::endpoint(path), ec);
        if (!ec) return makeError(path + " is in use by a running daemon");
        ::unlink(path.c_str());
    }

    // Operators in the socket's group may use ringgatectl (mode 0660).
    if (auto bound = bindWithMode(acceptor_, path); !bound) return bound;
    boost::system::error_code ec;
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return makeError("management socket " + path + ": " + ec.message());
    if (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
        int error = errno;
        close();
        return makeError(groupField(allowed) + ": chown " + path + " to group " + group + ": " +
                         std::strerror(error));
    }
    path_ = path;
    accepts_.start();
    RG_INFO(Management, "listening on %s%s", path.c_str(), allowed == Access::Read ? " (read-only)" : "");
    return {};
}

void ManagementServer::close() {
    if (!acceptor_.is_open()) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accepts_.stop();
    struct stat ours {};
    if (!path_.empty() && ::lstat(path_.c_str(), &ours) == 0 && S_ISSOCK(ours.st_mode)) ::unlink(path_.c_str());
}

}  // namespace ringgate::management
