// systemd's service readiness protocol (sd_notify(3)), for units of Type=notify: READY=1
// once a program really serves, RELOADING=1 ... READY=1 around a SIGHUP reload, STOPPING=1
// when it starts to shut down, and a STATUS= line `systemctl status` shows. Outside
// systemd (no NOTIFY_SOCKET) every call does nothing.
#pragma once

#include <string_view>

namespace ringgate::service {

void ready(std::string_view status = {});
// MONOTONIC_USEC goes along, as systemd >= 253 wants with RELOADING=1.
void reloading(std::string_view status = {});
void stopping(std::string_view status = {});
void status(std::string_view status);

}  // namespace ringgate::service
