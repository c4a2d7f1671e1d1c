// ringgatectl: the operator's view of a running node, through its management socket or,
// with --host, its HTTPS listener (remote management).
// Options and subcommands are declared with CLI11; the subcommands come from the command
// catalogue the daemon serves (control/management/catalogue.h), so --help is never out of
// step with what ringgated answers.
#include <filesystem>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "common/expected.h"
#include "common/log.h"
#include "config/loader.h"
#include "config/local_node.h"
#include "control/management/catalogue.h"
#include "control/management/command_table.h"
#include "control/management/password.h"
#include "tools/https_client.h"

namespace {

using namespace ringgate;

constexpr const char* kFooter = R"(
The node is named by --socket PATH, or by --config FILE and --node ID (the socket path
comes from FILE's management.socket, or management.read_only_socket for a user who may
not use that one; FILE defaults to /etc/ringgate/ringgate.yaml, ID to
the one node that has an address of this host), or remotely by --host https://ADDR:PORT --user NAME
(the node's management.listen; the password comes from --password-file, else the
RINGGATE_PASSWORD environment variable, else a prompt; --ca-file checks the node's
certificate). With --json every answer, errors included, is one JSON document on stdout.

Exit status: 0 ok, 1 the node refused the command or cannot be reached, 2 usage error.)";

// Where errors go: text on stderr, or {"error": ...} on stdout with --json.
struct Output {
    bool json = false;

    int fail(int status, const std::string& message) const {
        if (json) std::printf("%s\n", nlohmann::json{{"error", message}}.dump().c_str());
        else std::fprintf(stderr, "ringgatectl: %s\n", message.c_str());
        return status;
    }
};

bool wantsJson(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--json") == 0 || std::strcmp(argv[i], "-j") == 0) return true;
    return false;
}

// Sends one request line; the reply's status line and body, or an error.
Expected<std::string> ask(const std::string& socketPath, const std::string& line, unsigned long timeoutMs) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return makeError(std::string("socket: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socketPath.c_str(), socketPath.size() + 1);
    timeval timeout{static_cast<time_t>(timeoutMs / 1000), static_cast<suseconds_t>(timeoutMs % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return makeError("cannot reach " + socketPath + ": " + std::strerror(errno) + " (is ringgated running?)");
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
        return makeError("send to " + socketPath + " failed: " + std::strerror(errno));
    std::string reply;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n == 0) break;
        if (n < 0) return makeError("no complete answer from " + socketPath + ": " + std::strerror(errno));
        reply.append(buffer, static_cast<size_t>(n));
    }
    return reply;
}

// 32 bytes from the kernel's CSPRNG, as 64 hex digits: a cluster.shared_key.
int generateKey(const Output& out) {
    unsigned char bytes[32];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
        return out.fail(1, std::string("getrandom: ") + std::strerror(errno));
    std::string key;
    for (unsigned char b : bytes) key += fmt::format("{:02x}", b);
    if (out.json) std::printf("%s\n", nlohmann::json{{"shared_key", key}}.dump().c_str());
    else std::printf("%s\n", key.c_str());
    return 0;
}

// A password from FILE (its first line), RINGGATE_PASSWORD, or the terminal without echo.
Expected<std::string> readPassword(const std::string& file, const char* prompt) {
    if (!file.empty()) {
        std::ifstream in(file);
        std::string line;
        if (!in || !std::getline(in, line)) return makeError("--password-file: cannot read " + file);
        return line;
    }
    if (const char* env = std::getenv("RINGGATE_PASSWORD")) return std::string(env);
    FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty) return makeError("no terminal to ask for the password: use --password-file or RINGGATE_PASSWORD");
    std::fputs(prompt, tty);
    std::fflush(tty);
    termios saved{};
    bool restore = ::tcgetattr(fileno(tty), &saved) == 0;
    if (restore) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    char buffer[1024];
    bool got = std::fgets(buffer, sizeof buffer, tty) != nullptr;
    if (restore) ::tcsetattr(fileno(tty), TCSAFLUSH, &saved);
    std::fputs("\n", tty);
    std::fclose(tty);
    if (!got) return makeError("no password given");
    std::string password(buffer);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    return password;
}

// A yescrypt hash for management.users[].password_hash.
int makeHash(const Output& out, const std::string& passwordFile) {
    auto password = readPassword(passwordFile, "new password: ");
    if (!password) return out.fail(1, password.error().message);
    if (passwordFile.empty() && !std::getenv("RINGGATE_PASSWORD")) {
        auto again = readPassword("", "again: ");
        if (!again) return out.fail(1, again.error().message);
        if (*again != *password) return out.fail(1, "the passwords differ");
    }
    auto hash = management::hashPassword(*password);
    if (!hash) return out.fail(1, hash.error().message);
    if (out.json) std::printf("%s\n", nlohmann::json{{"password_hash", *hash}}.dump().c_str());
    else std::printf("%s\n", hash->c_str());
    return 0;
}

// One command through a node's HTTPS listener; prints the answer like the socket path does.
int askRemote(const Output& out, const std::string& url, const std::string& user, const std::string& passwordFile,
              const std::string& caFile, const management::Request& request, unsigned long timeoutMs) {
    auto target = remote::parseUrl(url);
    if (!target) return out.fail(2, target.error().message);
    if (user.empty()) return out.fail(2, "--host needs --user NAME");
    auto password = readPassword(passwordFile, ("password for " + user + ": ").c_str());
    if (!password) return out.fail(1, password.error().message);
    nlohmann::json body{{"command", request.command},
                        {"args", request.args},
                        {"format", request.format == management::Format::Json ? "json" : "text"}};
    auto answer = remote::post(*target, caFile, {user, *password}, "/api/command", body.dump(), timeoutMs);
    if (!answer) return out.fail(1, answer.error().message);
    bool ok = answer->status == 200;
    // Refusals by the listener itself (401, 403, ...) are JSON; in text mode show the message.
    std::string text = answer->body;
    if (!ok && !out.json) {
        auto parsed = nlohmann::json::parse(text, nullptr, false);
        if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string())
            text = std::string(parsed["error"]) + "\n";
    }
    if (!ok && out.json && nlohmann::json::parse(text, nullptr, false).is_discarded())
        return out.fail(1, "HTTP " + std::to_string(answer->status) + ": " + text);
    std::fputs(text.c_str(), ok || out.json ? stdout : stderr);
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Output out{wantsJson(argc, argv)};

    CLI::App app{"Asks a running ringgated node (or ringgate-registry) through its management socket.",
                 "ringgatectl"};
    app.footer(kFooter);
    app.set_version_flag("--version", std::string("ringgatectl ") + RINGGATE_VERSION);
    app.fallthrough();  // --json and the node options may follow the command too
    app.require_subcommand(1);

    std::string configPath, socketPath, logSpec;
    std::optional<unsigned> node;
    unsigned long timeoutMs = 5000;
    bool json = false;
    app.add_option("-c,--config", configPath, "cluster configuration (YAML) naming the node's socket")
        ->check(CLI::ExistingFile);
    app.add_option("-n,--node", node, "node id in the configuration's node map")->check(CLI::Range(1, 65535));
    app.add_option("-s,--socket", socketPath, "the management socket itself")->excludes("--config");
    app.add_flag("-j,--json", json, "machine-readable output (one JSON document on stdout)");
    app.add_option("--timeout-ms", timeoutMs, "give up after this many milliseconds")
        ->default_val(5000)
        ->check(CLI::Range(1, 600000));
    app.add_option("--log", logSpec, "log levels of this client, e.g. \"debug\"");
    std::string hostUrl, user, passwordFile, caFile;
    app.add_option("-H,--host", hostUrl, "a node's remote management listener, https://ADDR:PORT")
        ->excludes("--socket")
        ->excludes("--config");
    app.add_option("-u,--user", user, "remote management user (with --host)")->needs("--host");
    app.add_option("--password-file", passwordFile, "read the password from the first line of FILE (--host, passwd)")
        ->check(CLI::ExistingFile);
    app.add_option("--ca-file", caFile, "CA certificate(s) (PEM) that signed the node's certificate "
                                        "(default: the system's trust store)")
        ->check(CLI::ExistingFile)
        ->needs("--host");

    management::Request request;
    for (const management::CommandSpec& spec : management::kGatewayCommands) {
        std::string description = *spec.args ? std::string(spec.args) + ": " + spec.summary : spec.summary;
        CLI::App* sub = app.add_subcommand(spec.name, description);
        if (*spec.args) sub->add_option("args", request.args, spec.args);
        sub->callback([&request, name = std::string(spec.name)] { request.command = name; });
    }
    app.add_subcommand("help", "commands this node answers (asks the node)")
        ->callback([&request] { request.command = "help"; });
    CLI::App* genkey = app.add_subcommand(
        "genkey", "print a new random cluster.shared_key (256 bits, hex) for every node's configuration (asks no node)");
    CLI::App* passwd = app.add_subcommand(
        "passwd", "print a salted yescrypt hash of a password for management.users[].password_hash (asks no node)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::CallForVersion& e) {
        std::puts(app.version().c_str());
        return 0;
    } catch (const CLI::ParseError& e) {
        return out.fail(2, e.what() + std::string(" (see --help)"));
    }
    if (!logSpec.empty() && !log::applySpec(logSpec)) return out.fail(2, "--log: bad spec '" + logSpec + "'");
    if (genkey->parsed()) return generateKey(out);
    if (passwd->parsed()) return makeHash(out, passwordFile);
    request.format = json ? management::Format::Json : management::Format::Text;
    if (!hostUrl.empty()) return askRemote(out, hostUrl, user, passwordFile, caFile, request, timeoutMs);

    if (socketPath.empty()) {
        if (configPath.empty()) configPath = config::kDefaultConfigPath;
        auto loaded = config::loadFile(configPath);
        if (!loaded.config) {
            if (out.json) return out.fail(2, loaded.report("ringgatectl"));
            std::fputs(loaded.report("ringgatectl").c_str(), stderr);
            return 2;
        }
        if (!node) {
            // The node whose address this host has (config/local_node.h).
            auto addresses = config::hostIpv4Addresses();
            if (!addresses) return out.fail(1, addresses.error().message);
            auto found = config::localNode(loaded.config->cluster, *addresses);
            if (!found) return out.fail(2, found.error().message + " (node map of " + configPath + ")");
            node = *found;
        }
        if (!loaded.config->cluster.findNode(*node))
            return out.fail(2, "node " + std::to_string(*node) + " is not in the node map of " + configPath);
        socketPath = loaded.config->management.socketPathFor(*node);
        // A user who may not use the control socket (not in management.socket_group) asks
        // through the read-only one, where the node answers what changes nothing.
        std::string readOnly = loaded.config->management.readOnlySocketPathFor(*node);
        if (!readOnly.empty() && ::access(socketPath.c_str(), W_OK) != 0 && errno == EACCES) socketPath = readOnly;
    }
    if (socketPath.size() >= sizeof(sockaddr_un::sun_path)) return out.fail(2, "socket path too long: " + socketPath);

    // `config push FILE`: the daemon reads FILE from its own working directory.
    if (request.command == "config" && request.args.size() == 2 && request.args[0] == "push") {
        std::error_code ec;
        auto absolute = std::filesystem::absolute(request.args[1], ec);
        if (ec) return out.fail(2, "config push: " + request.args[1] + ": " + ec.message());
        request.args[1] = absolute.lexically_normal().string();
        if (request.args[1].find_first_of(" \t\n") != std::string::npos)
            return out.fail(2, "config push: the file's path may not contain white space");
    }
    auto reply = ask(socketPath, management::formatRequest(request), timeoutMs);
    if (!reply) return out.fail(1, reply.error().message);
    size_t newline = reply->find('\n');
    if (newline == std::string::npos) return out.fail(1, "malformed answer from " + socketPath);
    bool ok = reply->compare(0, newline, "ok") == 0;
    // JSON answers, errors included, are for scripts: stdout. Text errors go to stderr.
    std::fputs(reply->c_str() + newline + 1, ok || json ? stdout : stderr);
    return ok ? 0 : 1;
}
