// The state of bpf/loss_drop.bpf.c, one entry per attached program. tools/netfault.py
// writes and reads it as bytes through bpftool: keep that layout (little-endian
// u32 drop_per_million, u32 pad, u64 dropped, u64 passed) in step with this struct.
#pragma once

struct loss_drop_state {
    __u32 drop_per_million; // 0: pass everything, 1000000: drop everything
    __u32 pad;
    __u64 dropped;
    __u64 passed;
};
