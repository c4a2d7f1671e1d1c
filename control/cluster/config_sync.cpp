#include "control/cluster/config_sync.h"

#include <algorithm>

namespace ringgate::cluster {

namespace {
constexpr size_t kMaxRemembered = 16;
// Visits without a new chunk, beyond the chunk count, before a newer version is judged
// orphaned: each node with the whole file sends its next chunk at every visit, so a node
// missing one sees it within `count` rotations while any such node lives.
constexpr size_t kOrphanSlack = 3;
}

SharedConfig SharedConfig::of(uint64_t version, std::string text) {
    SharedConfig c;
    c.version = version;
    c.digest = digestOf(text);
    c.text = std::move(text);
    return c;
}

ConfigSync::ConfigSync(std::string clusterName, SharedConfig local)
    : clusterName_(std::move(clusterName)), local_(std::move(local)) {}

// Each node sends its own chunks in turn (its visit count), whatever the carriage held:
// had every holder stepped the carriage's index on, a node would see the index move by the
// number of holders each rotation, the same chunk again and again when that number is a
// multiple of the chunk count. This way a node gets the next chunk from its predecessor
// at every rotation.
void ConfigSync::put(Carriages& carriages) {
    size_t count = std::max<size_t>(1, chunkCountFor(local_.text.size()));
    auto index = static_cast<uint16_t>(sent_++ % count);
    carriages.set(carriage::kClusterConfig,
                  encodeConfigChunk(chunkOf(clusterName_, local_.version, local_.digest, local_.text, index)));
}

std::optional<SharedConfig> ConfigSync::onToken(Carriages& carriages) {
    const auto* bytes = carriages.find(carriage::kClusterConfig);
    if (!bytes) {
        ++counters_.handedOn;
        put(carriages);
        return std::nullopt;
    }
    DecodedConfigChunk decoded = decodeConfigChunk(*bytes);
    if (!decoded.chunk) {
        if (decoded.error == ConfigCarriageError::FutureFormat) {
            ++counters_.refusedFutureFormat;
            return std::nullopt;
        }
        if (decoded.error == ConfigCarriageError::Oversized)
            ++counters_.refusedOversized;
        else
            ++counters_.refusedGarbled;
        notice_ = "configuration carriage refused (" + std::string(toString(decoded.error)) +
                  "): replaced by ours, version " + std::to_string(local_.version);
        put(carriages);
        return std::nullopt;
    }
    const ConfigChunk& chunk = *decoded.chunk;
    if (chunk.clusterName != clusterName_) {
        ++counters_.refusedForeignCluster;
        notice_ = "configuration carriage of cluster '" + chunk.clusterName + "' refused (this is cluster '" +
                  clusterName_ + "'): replaced by ours";
        put(carriages);
        return std::nullopt;
    }
    Key theirs{chunk.version, chunk.digest}, ours{local_.version, local_.digest};
    if (theirs == ours) {
        put(carriages);
        return std::nullopt;
    }
    if (chunk.version == local_.version) {
        ++counters_.conflicts;
        notice_ = "two configurations carry version " + std::to_string(chunk.version) + " (" +
                  shortHex(chunk.digest) + " and ours " + shortHex(local_.digest) +
                  "): the larger digest wins; raise cluster.config_version on a change";
    }
    if (theirs < ours) {
        ++counters_.handedOn;
        put(carriages);
        return std::nullopt;
    }
    if (refused_.count(theirs)) return std::nullopt;
    auto offer = keep(chunk);
    if (assembly_ && assembly_->idleVisits > assembly_->chunks.size() + kOrphanSlack) {
        // Nobody sends the chunks we lack: the only nodes that had this version are gone
        // before anyone completed it. Left alone it would block every older version for
        // good; ours goes on instead.
        ++counters_.orphaned;
        notice_ = "configuration version " + std::to_string(chunk.version) + " (" + shortHex(chunk.digest) +
                  ") on the token stopped advancing: no live node has all of it; ours, version " +
                  std::to_string(local_.version) + ", goes on instead";
        // Not remembered as refused: a node that has it (across a partition that heals)
        // puts it back, and then it is reassembled.
        assembly_.reset();
        put(carriages);
    }
    return offer;
}

std::optional<SharedConfig> ConfigSync::keep(const ConfigChunk& chunk) {
    Key key{chunk.version, chunk.digest};
    if (!assembly_ || assembly_->key != key) {
        assembly_ = Assembly{key, chunk.totalBytes, {}, 0};
        assembly_->chunks.resize(chunk.count);
    }
    auto& slot = assembly_->chunks[chunk.index];
    if (slot) {
        ++assembly_->idleVisits;
        return std::nullopt;
    }
    assembly_->idleVisits = 0;
    slot = chunk.bytes;
    ++assembly_->have;
    ++counters_.chunksReceived;
    if (assembly_->have < assembly_->chunks.size()) return std::nullopt;
    std::string text;
    text.reserve(assembly_->totalBytes);
    for (const auto& part : assembly_->chunks) text.append(part->begin(), part->end());
    assembly_.reset();
    SharedConfig offer{chunk.version, chunk.digest, std::move(text)};
    if (digestOf(offer.text) != chunk.digest) {
        // Chunks of one (version, digest) that do not add up: a forgery or a bug. Remember
        // it, or it would be reassembled and refused at every visit.
        ++counters_.refusedGarbled;
        notice_ = "configuration version " + std::to_string(chunk.version) + " reassembled with a wrong digest: refused";
        remember(key);
        return std::nullopt;
    }
    ++counters_.offered;
    return offer;
}

void ConfigSync::adopted(const SharedConfig& config) {
    ++counters_.adopted;
    local_ = config;
}

void ConfigSync::refused(const SharedConfig& config) {
    ++counters_.refusedInvalid;
    remember({config.version, config.digest});
}

void ConfigSync::remember(const Key& key) {
    refused_.insert(key);
    if (refused_.size() > kMaxRemembered) refused_.erase(refused_.begin());
}

void ConfigSync::setLocal(SharedConfig config) {
    local_ = std::move(config);
    assembly_.reset();
}

std::optional<std::string> ConfigSync::takeNotice() {
    auto notice = std::move(notice_);
    notice_.reset();
    return notice;
}

}  // namespace ringgate::cluster
