// Big-endian readers and writers over byte spans. The reader never reads past its span:
// every get* reports failure instead, so parsers of hostile datagrams stay in bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringgate::cluster {

class ByteWriter {
public:
    explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v) { put(v, 2); }
    void u32(uint32_t v) { put(v, 4); }
    void u64(uint64_t v) { put(v, 8); }
    void bytes(std::span<const uint8_t> data) { out_.insert(out_.end(), data.begin(), data.end()); }
    size_t size() const { return out_.size(); }

    // Overwrites a field written earlier (lengths and checksums known only at the end).
    void patchU16(size_t offset, uint16_t v) { patch(offset, v, 2); }
    void patchU32(size_t offset, uint32_t v) { patch(offset, v, 4); }

private:
    void put(uint64_t v, int width) {
        for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void patch(size_t offset, uint64_t v, int width) {
        for (int i = 0; i < width; ++i)
            out_[offset + i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
    }
    std::vector<uint8_t>& out_;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

    bool u8(uint8_t& v) { return get(v, 1); }
    bool u16(uint16_t& v) { return get(v, 2); }
    bool u32(uint32_t& v) { return get(v, 4); }
    bool u64(uint64_t& v) { return get(v, 8); }
    bool bytes(size_t count, std::span<const uint8_t>& out) {
        if (remaining() < count) return false;
        out = in_.subspan(pos_, count);
        pos_ += count;
        return true;
    }
    size_t remaining() const { return in_.size() - pos_; }
    size_t position() const { return pos_; }

private:
    template <typename T>
    bool get(T& v, size_t width) {
        if (remaining() < width) return false;
        uint64_t acc = 0;
        for (size_t i = 0; i < width; ++i) acc = (acc << 8) | in_[pos_ + i];
        pos_ += width;
        v = static_cast<T>(acc);
        return true;
    }
    std::span<const uint8_t> in_;
    size_t pos_ = 0;
};

}  // namespace ringgate::cluster
