#include "config/save.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ringgate::config {

namespace {
std::string errnoText() { return std::strerror(errno); }
}  // namespace

Expected<void> writeFileAtomically(const std::string& path, std::string_view text) {
    std::filesystem::path target(path);
    std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::string temp = (dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
    mode_t mode = 0644;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return makeError("cannot write " + temp + ": " + errnoText());
    auto fail = [&](const std::string& what) {
        std::string message = what + " " + temp + ": " + errnoText();
        ::close(fd);
        ::unlink(temp.c_str());
        return makeError(message);
    };
    for (size_t done = 0; done < text.size();) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail("write");
        done += static_cast<size_t>(n);
    }
    if (::fchmod(fd, mode) != 0) return fail("chmod");
    if (::fsync(fd) != 0) return fail("fsync");
    if (::close(fd) != 0) {
        ::unlink(temp.c_str());
        return makeError("close " + temp + ": " + errnoText());
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        std::string message = "rename " + temp + " to " + path + ": " + errnoText();
        ::unlink(temp.c_str());
        return makeError(message);
    }
    // The rename itself is durable once the directory is.
    if (int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dirFd >= 0) {
        (void)::fsync(dirFd);
        ::close(dirFd);
    }
    return {};
}

}  // namespace ringgate::config
