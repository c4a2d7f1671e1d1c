// SPDX-License-Identifier: GPL-2.0
// Packet loss for tests, since this kernel has no netem: a tc (clsact) program that drops
// each packet with a probability set at run time. Attached on a veth inside a test's own
// namespace (ingress or egress); tools/netfault.py loads it with tc and sets the rate and
// reads the counters through its one-entry array map.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "loss_drop.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct loss_drop_state);
} loss_drop_state SEC(".maps");

SEC("tc")
int loss_drop(struct __sk_buff *skb)
{
    (void)skb;
    __u32 key = 0;
    struct loss_drop_state *state = bpf_map_lookup_elem(&loss_drop_state, &key);
    if (!state)
        return TC_ACT_OK;
    if (state->drop_per_million && bpf_get_prandom_u32() % 1000000 < state->drop_per_million) {
        __sync_fetch_and_add(&state->dropped, 1);
        return TC_ACT_SHOT;
    }
    __sync_fetch_and_add(&state->passed, 1);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
