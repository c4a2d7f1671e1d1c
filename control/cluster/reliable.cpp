#include "control/cluster/reliable.h"

#include <algorithm>
#include <cassert>

namespace ringgate::cluster {

bool ReliableMessenger::ReplayWindow::accept(uint64_t c) {
    if (c > highest) {
        uint64_t shift = c - highest;
        bitmap = shift >= kSize ? 0 : bitmap << shift;
        bitmap |= 1;
        highest = c;
        return true;
    }
    uint64_t age = highest - c;
    if (age >= kSize) return false;
    uint64_t bit = uint64_t{1} << age;
    if (bitmap & bit) return false;
    bitmap |= bit;
    return true;
}

std::vector<MessengerCounters::Reason> MessengerCounters::refusedByReason() const {
    return {{"malformed", malformed},       {"unauthenticated", unauthenticated}, {"replayed", replayed},
            {"stale_epoch", staleEpoch},    {"not_for_us", notForUs},             {"spoofed", spoofed},
            {"unconfirmed", unconfirmed},   {"unsolicited", unsolicited},         {"buffer_full", bufferDrops}};
}

uint64_t MessengerCounters::refused() const {
    uint64_t total = 0;
    for (const Reason& r : refusedByReason()) total += r.count;
    return total;
}

ReliableMessenger::ReliableMessenger(Options options) : options_(std::move(options)), nonces_(options_.nonceSeed) {
    if (options_.pathCount == 0) options_.pathCount = 1;
}

uint32_t ReliableMessenger::attemptLimit(const OutMessage& m) const {
    return std::max<uint32_t>(m.policy.retries + 1, options_.pathCount);
}

uint64_t ReliableMessenger::send(Time now, NodeId peer, std::vector<uint8_t> message, SendPolicy policy) {
    assert(!message.empty() && message.size() <= kMaxMessageLength);
    uint64_t id = peersOut_[peer].nextMessageId++;
    OutMessage& m = outbound_[{peer, id}];
    m.peer = peer;
    m.id = id;
    m.message = std::move(message);
    m.policy = policy;
    size_t count = (m.message.size() + kMaxFragmentPayload - 1) / kMaxFragmentPayload;
    m.fragments.resize(count);
    m.unacked = count;
    ++counters_.messagesSent;
    for (size_t i = 0; i < count; ++i) {
        m.fragments[i].timeout = policy.timeout;
        sendFragment(now, m, static_cast<uint16_t>(i));
    }
    return id;
}

void ReliableMessenger::cancel(NodeId peer, uint64_t messageId) { outbound_.erase({peer, messageId}); }

void ReliableMessenger::sendFragment(Time now, OutMessage& m, uint16_t index) {
    OutFragment& f = m.fragments[index];
    // The first attempt takes the peer's preferred path; every resend moves to the next
    // subnet, so delivery succeeds while any path works.
    uint8_t path = static_cast<uint8_t>((peersOut_[m.peer].preferredPath + f.attempts) % options_.pathCount);
    if (f.attempts > 0) ++counters_.resends;
    ++f.attempts;
    f.deadline = now + f.timeout;
    if (m.policy.doubling) f.timeout *= 2;
    PacketHeader h;
    h.kind = PacketKind::Data;
    h.messageId = m.id;
    h.fragmentIndex = index;
    h.fragmentCount = static_cast<uint16_t>(m.fragments.size());
    h.messageLength = static_cast<uint32_t>(m.message.size());
    size_t offset = size_t{index} * kMaxFragmentPayload;
    size_t length = std::min(kMaxFragmentPayload, m.message.size() - offset);
    emit(m.peer, path, h, std::span<const uint8_t>(m.message).subspan(offset, length));
}

void ReliableMessenger::emit(NodeId peer, uint8_t path, const PacketHeader& header,
                             std::span<const uint8_t> payload) {
    PacketHeader h = header;
    h.path = path;
    h.sender = options_.self;
    h.receiver = peer;
    h.senderEpoch = options_.epoch;
    h.counter = ++counter_;
    Datagram d{peer, path, encodePacket(h, payload, options_.key)};
    ++counters_.datagramsSent;
    counters_.bytesSent += d.bytes.size();
    outgoing_.push_back(std::move(d));
}

void ReliableMessenger::restarted(NodeId peer, uint64_t epoch) {
    ++counters_.peerRestarts;
    // Fragments acknowledged by the previous incarnation died with it.
    for (auto& [key, m] : outbound_) {
        if (key.first != peer) continue;
        for (auto& f : m.fragments)
            if (f.acked) {
                f.acked = false;
                ++m.unacked;
            }
    }
    events_.push_back(PeerRestarted{peer, epoch});
}

void ReliableMessenger::onDatagram(Time now, uint8_t path, std::span<const uint8_t> datagram,
                                   std::optional<NodeId> source) {
    ++counters_.datagramsReceived;
    counters_.bytesReceived += datagram.size();
    DecodedPacket decoded = decodePacket(datagram, options_.key);
    if (!decoded.packet) {
        if (decoded.error == PacketError::Unauthenticated)
            ++counters_.unauthenticated;
        else
            ++counters_.malformed;
        return;
    }
    const Packet& p = *decoded.packet;
    if (source && *source != p.header.sender) {
        ++counters_.spoofed;
        return;
    }
    if (p.header.receiver != options_.self || p.header.sender == options_.self || p.header.sender == 0) {
        ++counters_.notForUs;
        return;
    }
    switch (p.header.kind) {
        case PacketKind::Challenge: {
            // Stateless: the answer goes to the configured address of the named peer, so a
            // forged challenge only makes us confirm our own epoch to that peer.
            PacketHeader response;
            response.kind = PacketKind::Response;
            response.messageId = p.header.messageId;
            emit(p.header.sender, path, response, {});
            ++counters_.responsesSent;
            return;
        }
        case PacketKind::Response: onResponse(now, p); return;
        default: accept(now, path, p, datagram, false); return;
    }
}

void ReliableMessenger::accept(Time now, uint8_t path, const Packet& p, std::span<const uint8_t> datagram,
                               bool held) {
    const PacketHeader& h = p.header;
    auto found = inbound_.find(h.sender);
    if (found != inbound_.end() && h.senderEpoch < found->second.epoch) {
        ++counters_.staleEpoch;
        return;
    }
    bool confirmed = found != inbound_.end() && found->second.epoch == h.senderEpoch &&
                     h.counter <= found->second.replay.highest + options_.maxCounterJump;
    if (!confirmed) {
        if (held)
            ++counters_.unconfirmed;  // still not what the peer confirmed: a forgery
        else
            challenge(now, path, h.sender, datagram);
        return;
    }
    PeerIn& in = found->second;
    if (!in.replay.accept(h.counter)) {
        // Without a key, forged datagrams with the peer's epoch and counters within the
        // allowed jump can push the window ahead of the peer's real counter, and its real
        // datagrams then look too old. The challenge finds the peer's real position and the
        // window moves back to it (onResponse); with a key, no forgery moves the window.
        if (!options_.key.enabled() && !held && h.counter + ReplayWindow::kSize <= in.replay.highest) {
            challenge(now, path, h.sender, datagram);
            return;
        }
        ++counters_.replayed;
        return;
    }
    lastHeard_[h.sender] = now;
    if (h.kind == PacketKind::Ack)
        onAck(now, path, p);
    else
        onData(now, path, p);
}

void ReliableMessenger::challenge(Time now, uint8_t path, NodeId peer, std::span<const uint8_t> datagram) {
    constexpr size_t kMaxChallenges = 256, kMaxHeld = 8;
    auto it = challenges_.find(peer);
    if (it == challenges_.end()) {
        if (challenges_.size() >= kMaxChallenges) {
            ++counters_.unconfirmed;
            return;
        }
        uint64_t nonce = 0;
        while (nonce == 0) nonce = nonces_();
        it = challenges_.emplace(peer, Challenge{nonce, now - options_.rechallengeAfter, {}}).first;
    }
    Challenge& c = it->second;
    if (c.held.size() < kMaxHeld)
        c.held.emplace_back(path, std::vector<uint8_t>(datagram.begin(), datagram.end()));
    else
        ++counters_.unconfirmed;
    if (now - c.sentAt < options_.rechallengeAfter) return;
    c.sentAt = now;
    PacketHeader h;
    h.kind = PacketKind::Challenge;
    h.messageId = c.nonce;
    emit(peer, path, h, {});
    ++counters_.challengesSent;
}

void ReliableMessenger::onResponse(Time now, const Packet& p) {
    const PacketHeader& h = p.header;
    auto it = challenges_.find(h.sender);
    if (it == challenges_.end() || it->second.nonce != h.messageId) {
        ++counters_.unsolicited;
        return;
    }
    PeerIn& in = inbound_[h.sender];
    if (h.senderEpoch < in.epoch) {
        ++counters_.staleEpoch;
        return;
    }
    if (h.senderEpoch > in.epoch) {
        bool isRestart = in.epoch != 0;
        in = PeerIn{};
        in.epoch = h.senderEpoch;
        if (isRestart) restarted(h.sender, h.senderEpoch);
    }
    // The response is the peer's newest datagram: the window moves up to it, so nothing
    // claiming to be further ahead is believed without another challenge. A window a whole
    // width ahead of it was pushed there by forgeries (possible only without a key): it
    // moves back, and the peer's datagrams are believed again.
    if (!options_.key.enabled() && h.counter + ReplayWindow::kSize <= in.replay.highest) {
        in.replay = ReplayWindow{h.counter, 1};
        ++counters_.windowResets;
    } else {
        in.replay.accept(h.counter);
    }
    lastHeard_[h.sender] = now;
    auto held = std::move(it->second.held);
    challenges_.erase(it);
    for (auto& [path, bytes] : held) {
        DecodedPacket decoded = decodePacket(bytes, options_.key);
        if (decoded.packet) accept(now, path, *decoded.packet, bytes, true);
    }
}

bool ReliableMessenger::alreadyDelivered(const PeerIn& in, uint64_t id) const {
    return id < in.deliveredFloor || in.deliveredAbove.count(id) != 0;
}

void ReliableMessenger::markDelivered(PeerIn& in, uint64_t id) {
    in.deliveredAbove.insert(id);
    // Bounded memory: past the window, the oldest gap is given up (its sender has long
    // since been told of a failure).
    if (in.deliveredAbove.size() > options_.dedupWindow) in.deliveredFloor = *in.deliveredAbove.begin();
    while (!in.deliveredAbove.empty() && *in.deliveredAbove.begin() <= in.deliveredFloor) {
        if (*in.deliveredAbove.begin() == in.deliveredFloor) ++in.deliveredFloor;
        in.deliveredAbove.erase(in.deliveredAbove.begin());
    }
    for (auto it = in.partials.begin(); it != in.partials.end() && it->first < in.deliveredFloor;) {
        in.bufferedBytes -= it->second.bytes.size();
        it = in.partials.erase(it);
    }
}

void ReliableMessenger::onData(Time now, uint8_t path, const Packet& p) {
    const PacketHeader& h = p.header;
    PeerIn& in = inbound_[h.sender];
    PacketHeader ack;
    ack.kind = PacketKind::Ack;
    ack.messageId = h.messageId;
    ack.fragmentIndex = h.fragmentIndex;
    ack.fragmentCount = h.fragmentCount;
    ack.messageLength = h.messageLength;
    if (alreadyDelivered(in, h.messageId)) {
        emit(h.sender, path, ack, {});
        return;
    }
    auto it = in.partials.find(h.messageId);
    if (it == in.partials.end()) {
        auto full = [&] {
            return in.partials.size() >= options_.maxIncompletePerPeer ||
                   in.bufferedBytes + h.messageLength > options_.maxBufferedBytesPerPeer;
        };
        if (full()) evictIdlePartials(now);
        if (full()) {
            ++counters_.bufferDrops;  // no ack: the sender retries or reports failure
            return;
        }
        Partial fresh;
        fresh.bytes.resize(h.messageLength);
        fresh.have.assign(h.fragmentCount, false);
        fresh.missing = h.fragmentCount;
        in.bufferedBytes += h.messageLength;
        it = in.partials.emplace(h.messageId, std::move(fresh)).first;
    }
    Partial& partial = it->second;
    if (partial.bytes.size() != h.messageLength || partial.have.size() != h.fragmentCount) {
        ++counters_.malformed;  // fragments of one message disagree about its size
        return;
    }
    partial.lastActivity = now;
    if (!partial.have[h.fragmentIndex]) {
        std::copy(p.payload.begin(), p.payload.end(),
                  partial.bytes.begin() + size_t{h.fragmentIndex} * kMaxFragmentPayload);
        partial.have[h.fragmentIndex] = true;
        --partial.missing;
    }
    emit(h.sender, path, ack, {});
    if (partial.missing == 0) {
        std::vector<uint8_t> message = std::move(partial.bytes);
        in.bufferedBytes -= message.size();
        in.partials.erase(it);
        markDelivered(in, h.messageId);
        ++counters_.messagesDelivered;
        events_.push_back(Delivered{h.sender, in.epoch, h.messageId, std::move(message)});
    }
}

void ReliableMessenger::onAck(Time, uint8_t path, const Packet& p) {
    // Acks come back on the path the data took: that path works, so use it first from now
    // on (a dead subnet then costs one timeout once, not on every message).
    if (path < options_.pathCount) peersOut_[p.header.sender].preferredPath = path;
    auto it = outbound_.find({p.header.sender, p.header.messageId});
    if (it == outbound_.end()) return;  // late ack of a finished message
    OutMessage& m = it->second;
    if (p.header.fragmentIndex >= m.fragments.size()) return;
    OutFragment& f = m.fragments[p.header.fragmentIndex];
    if (f.acked) return;
    f.acked = true;
    if (--m.unacked == 0) {
        events_.push_back(SendResult{m.id, m.peer, true, std::move(m.message)});
        outbound_.erase(it);
    }
}

void ReliableMessenger::evictIdlePartials(Time now) {
    for (auto& [peer, in] : inbound_)
        for (auto it = in.partials.begin(); it != in.partials.end();) {
            if (now - it->second.lastActivity < options_.partialTimeout) {
                ++it;
                continue;
            }
            // Its sender gave up long ago (its retries are far shorter): free the buffer.
            in.bufferedBytes -= it->second.bytes.size();
            ++counters_.partialsEvicted;
            it = in.partials.erase(it);
        }
}

void ReliableMessenger::onTimer(Time now) {
    evictIdlePartials(now);
    for (auto it = outbound_.begin(); it != outbound_.end();) {
        OutMessage& m = it->second;
        bool failed = false;
        for (size_t i = 0; i < m.fragments.size(); ++i) {
            OutFragment& f = m.fragments[i];
            if (f.acked || f.deadline > now) continue;
            if (f.attempts >= attemptLimit(m)) {
                failed = true;
                break;
            }
            sendFragment(now, m, static_cast<uint16_t>(i));
        }
        if (failed) {
            ++counters_.sendFailures;
            events_.push_back(SendResult{m.id, m.peer, false, std::move(m.message)});
            it = outbound_.erase(it);
        } else {
            ++it;
        }
    }
}

std::optional<Time> ReliableMessenger::nextDeadline() const {
    std::optional<Time> next;
    for (const auto& [key, m] : outbound_)
        for (const auto& f : m.fragments)
            if (!f.acked && (!next || f.deadline < *next)) next = f.deadline;
    return next;
}

}  // namespace ringgate::cluster

namespace ringgate::cluster {

std::optional<Time> ReliableMessenger::lastHeard(NodeId peer) const {
    auto it = lastHeard_.find(peer);
    if (it == lastHeard_.end()) return std::nullopt;
    return it->second;
}

}  // namespace ringgate::cluster
