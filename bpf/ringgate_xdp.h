/* Shared by the XDP program (ringgate_xdp.bpf.c) and user space (xdp_maps.cpp): map
 * value layouts and constants. Plain C, fixed-width types only. */
#ifndef RINGGATE_BPF_RINGGATE_XDP_H
#define RINGGATE_BPF_RINGGATE_XDP_H

#include <linux/types.h>

/* rg_addrs: IPv4 address (network byte order) -> what it is to this node. */
enum rg_addr_class {
    RG_ADDR_VIP = 1,   /* a cluster VIP: ARP about it and IPv4 to it go to the fast path */
    RG_ADDR_LOCAL = 2, /* this node's own address: the host OS answers (SSH, cluster, management) */
};

/* rg_config[0]. */
struct rg_xdp_config {
    /* Nonzero: IPv4 to addresses that are neither VIPs nor local (dnat replies that back
     * ends route through the gateway) goes to the fast path too. */
    __u32 steer_transit;
};

/* rg_stats (per CPU): what the program decided. */
enum rg_stat {
    RG_STAT_ARP_TO_FASTPATH = 0,
    RG_STAT_IPV4_TO_FASTPATH = 1,
    RG_STAT_TO_HOST = 2,
    RG_STAT_COUNT = 3,
};

#define RG_MAX_ADDRS 1024
#define RG_MAX_QUEUES 64

#endif
