#include "control/httplink/backend_chooser.h"

#include "dataplane/maglev.h"

namespace ringgate::httplink {

BackendChooser::BackendChooser(uint32_t holdMs) : hold_(holdMs) {}

BackendChooser::Member* BackendChooser::find(const Ipv4Endpoint& endpoint) {
    for (Member& member : members_)
        if (member.backend.address == endpoint.address && member.backend.port == endpoint.port) return &member;
    return nullptr;
}

void BackendChooser::setLive(const std::vector<config::Backend>& live) {
    std::vector<Member> next;
    for (const config::Backend& backend : live) {
        Member member{backend};
        if (Member* old = find({backend.address, backend.port})) {
            member.chosen = old->chosen;
            member.failures = old->failures;
            member.heldUntil = old->heldUntil;
        }
        next.push_back(member);
    }
    members_ = std::move(next);
    std::vector<dataplane::MaglevBackend> maglev;
    for (const Member& member : members_)
        maglev.push_back({member.backend.address.value, member.backend.port, member.backend.weight});
    table_ = members_.empty() ? std::vector<uint16_t>{} : dataplane::buildMaglevTable(maglev);
}

std::optional<Ipv4Endpoint> BackendChooser::choose(uint32_t flowHash, const std::set<Ipv4Endpoint>& exclude,
                                                   Clock::time_point now) {
    if (table_.empty()) return std::nullopt;
    // The flow's own slot first, as the L4 path; then the following slots, which keeps
    // the spread Maglev gave when one back end is skipped.
    for (bool allowHeld : {false, true}) {
        for (size_t step = 0; step < table_.size(); ++step) {
            uint16_t index = table_[(flowHash + step) % table_.size()];
            if (index == dataplane::kMaglevNoBackend) return std::nullopt;
            Member& member = members_[index];
            Ipv4Endpoint endpoint{member.backend.address, member.backend.port};
            if (exclude.count(endpoint)) continue;
            if (!allowHeld && member.heldUntil > now) continue;
            ++member.chosen;
            return endpoint;
        }
    }
    return std::nullopt;
}

void BackendChooser::reportFailure(const Ipv4Endpoint& backend, Clock::time_point now) {
    Member* member = find(backend);
    if (!member) return;  // left the live set meanwhile
    ++member->failures;
    member->heldUntil = now + hold_;
}

std::vector<BackendHealth> BackendChooser::health(Clock::time_point now) const {
    std::vector<BackendHealth> out;
    for (const Member& member : members_)
        out.push_back({{member.backend.address, member.backend.port}, member.heldUntil > now, member.chosen,
                       member.failures});
    return out;
}

}  // namespace ringgate::httplink
