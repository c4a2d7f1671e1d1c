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
    /* TCP and UDP to this node's own address with a destination port in this range are
     * fullnat replies: fast path. 0/0: none. */
    __u16 nat_port_first;
    __u16 nat_port_last;
};

/* rg_host_ports: a VIP's TCP port the host stack serves on this node (the HTTP proxy of
 * a `mode: http` service, WO 00/62502 §5). Present only while this node owns the VIP:
 * TCP to it goes to the host; the VIP's ARP and everything else stay on the fast path. */
struct rg_host_port {
    __u32 addr;  /* network byte order */
    __u16 port;  /* network byte order */
    __u16 pad;   /* zero */
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
#define RG_MAX_HOST_PORTS 1024

#endif
