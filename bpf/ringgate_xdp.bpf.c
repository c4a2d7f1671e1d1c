/* ringgate's XDP program for AF_XDP ports (ARCHITECTURE.md, "Ports and the host OS").
 * The DPDK AF_XDP PMD loads it (devarg xdp_prog) and fills xsks_map with its sockets.
 * It steers to the fast path: ARP about any cluster VIP (requests for it, and replies or
 * gratuitous ARPs from peers that claim it, which the host must never see), IPv4 to a
 * VIP, and transit IPv4 (dnat replies). Everything else, above all the node's own
 * traffic, goes to the host stack with XDP_PASS. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ringgate_xdp.h"

/* The PMD looks this map up by name and puts one AF_XDP socket per queue into it. */
struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, RG_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, RG_MAX_ADDRS);
    __type(key, __u32);   /* IPv4 address, network byte order */
    __type(value, __u32); /* enum rg_addr_class */
} rg_addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct rg_xdp_config);
} rg_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, RG_MAX_HOST_PORTS);
    __type(key, struct rg_host_port);
    __type(value, __u32); /* unused (1) */
} rg_host_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, RG_STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} rg_stats SEC(".maps");

/* The IPv4-over-Ethernet ARP body after the fixed header. */
struct arp_ipv4 {
    __be16 htype, ptype;
    __u8 hlen, plen;
    __be16 op;
    __u8 sha[6];
    __u8 spa[4];
    __u8 tha[6];
    __u8 tpa[4];
} __attribute__((packed));

static __always_inline void count(__u32 stat) {
    __u64 *value = bpf_map_lookup_elem(&rg_stats, &stat);
    if (value) *value += 1;
}

static __always_inline __u32 addr_class(__u32 addr) {
    __u32 *class = bpf_map_lookup_elem(&rg_addrs, &addr);
    return class ? *class : 0;
}

/* Without a fast-path socket on this queue (ringgated killed, the program left behind)
 * the frame is dropped, never passed: the host carries every VIP (seed 004), so passing
 * an ARP about a VIP would let a dead node's host answer for all of them. */
static __always_inline int to_fastpath(struct xdp_md *ctx, __u32 stat) {
    count(stat);
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_DROP);
}

static __always_inline int to_host(void) {
    count(RG_STAT_TO_HOST);
    return XDP_PASS;
}

SEC("xdp")
int ringgate_xdp(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end) return to_host();

    if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
        struct arp_ipv4 *arp = (void *)(eth + 1);
        if ((void *)(arp + 1) > data_end) return to_host();
        if (arp->ptype != bpf_htons(ETH_P_IP) || arp->plen != 4) return to_host();
        __u32 target, sender;
        __builtin_memcpy(&target, arp->tpa, 4);
        __builtin_memcpy(&sender, arp->spa, 4);
        if (addr_class(target) == RG_ADDR_VIP || addr_class(sender) == RG_ADDR_VIP)
            return to_fastpath(ctx, RG_STAT_ARP_TO_FASTPATH);
        /* Answers to the fast path's own requests, which it sends in RFC 5227 probe form
         * (sender 0.0.0.0); the host never asks that way. */
        if (arp->op == bpf_htons(2) && target == 0) return to_fastpath(ctx, RG_STAT_ARP_TO_FASTPATH);
        return to_host();
    }
    if (eth->h_proto != bpf_htons(ETH_P_IP)) return to_host();

    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return to_host();
    __u32 class = addr_class(ip->daddr);
    if (class == RG_ADDR_VIP) {
        /* A TCP port of an owned VIP that the host's HTTP proxy serves. Fragments after
         * the first carry no port: they go with the fast path like the rest of the VIP. */
        if (ip->protocol == IPPROTO_TCP && !(ip->frag_off & bpf_htons(0x1fff)) && ip->ihl >= 5) {
            __u16 *ports = (void *)ip + ip->ihl * 4;
            if ((void *)(ports + 2) <= data_end) {
                struct rg_host_port key = {ip->daddr, ports[1], 0};
                if (bpf_map_lookup_elem(&rg_host_ports, &key)) return to_host();
            }
        }
        return to_fastpath(ctx, RG_STAT_IPV4_TO_FASTPATH);
    }
    __u32 zero = 0;
    struct rg_xdp_config *config = bpf_map_lookup_elem(&rg_config, &zero);
    if (class == RG_ADDR_LOCAL) {
        /* A fullnat reply to this node's own address: TCP or UDP to a NAT port. The ports
         * sit at the same offset in both headers; fragments other than the first carry
         * no ports and go to the host like the rest of its traffic. */
        if (!config || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)) return to_host();
        if (ip->frag_off & bpf_htons(0x1fff)) return to_host();
        __u32 header = ip->ihl * 4;
        if (header < sizeof(*ip)) return to_host();
        __u16 *ports = (void *)ip + header;
        if ((void *)(ports + 2) > data_end) return to_host();
        __u16 dport = bpf_ntohs(ports[1]);
        if (dport >= config->nat_port_first && dport <= config->nat_port_last && config->nat_port_last != 0)
            return to_fastpath(ctx, RG_STAT_IPV4_TO_FASTPATH);
        return to_host();
    }
    /* Broadcast and multicast belong to the host. */
    __u32 daddr = bpf_ntohl(ip->daddr);
    if (daddr == 0xffffffff || (daddr >> 28) == 0xe) return to_host();
    if (config && config->steer_transit) return to_fastpath(ctx, RG_STAT_IPV4_TO_FASTPATH);
    return to_host();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
