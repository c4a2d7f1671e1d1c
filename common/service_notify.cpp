#include "common/service_notify.h"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

#include "common/log.h"

namespace ringgate::service {

namespace {

void send(std::string state, std::string_view status) {
    if (!status.empty()) state += (state.empty() ? "STATUS=" : "\nSTATUS=") + std::string(status);
    // 0: no NOTIFY_SOCKET (not run by systemd); < 0: the socket refused it, which must
    // not stop the service but is worth a line (systemd would then time the unit out).
    int sent = sd_notify(0, state.c_str());
    if (sent < 0) RG_WARN(Main, "sd_notify(%s): error %d", state.substr(0, state.find('\n')).c_str(), -sent);
}

}  // namespace

void ready(std::string_view text) { send("READY=1", text); }

void reloading(std::string_view text) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned long long usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                              static_cast<unsigned long long>(now.tv_nsec) / 1000ull;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), text);
}

void stopping(std::string_view text) { send("STOPPING=1", text); }

void status(std::string_view text) { send("", text); }

}  // namespace ringgate::service
