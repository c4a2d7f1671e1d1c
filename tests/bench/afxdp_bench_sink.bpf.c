/* Sink of tests/bench/afxdp_forwarding_bench.py, attached (native XDP) to the veth end
 * that receives what the device under test forwards. It counts and drops every IPv4 frame
 * at the cheapest point the kernel offers, and passes everything else (ARP above all) to
 * the sink namespace's kernel, which answers the DUT's neighbour resolution for the back
 * end's address.
 *
 * Besides the total it counts how frames arrive, so the benchmark can tell a forwarder
 * that works from one that merely moves bytes: addressed to the sink's MAC from the DUT's
 * MAC, with the destination untouched (to the VIP, as testpmd's mac forwarding leaves it)
 * or translated (to the back end, as ringgate's NAT must), and from the client (testpmd,
 * dnat) or from the NAT source (fullnat). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Set by user space before loading; addresses and ports in network byte order. */
const volatile __u8 sink_mac[ETH_ALEN];
const volatile __u8 dut_mac[ETH_ALEN];
const volatile __be32 vip_address;
const volatile __be16 vip_port;
const volatile __be32 backend_address;
const volatile __be16 backend_port;
const volatile __be32 client_address; /* the generator's: kept by testpmd and dnat */
const volatile __be32 nat_address;    /* fullnat's source */

/* Read by user space through the skeleton's .bss. The sink's NAPI may run on any CPU,
 * hence atomic adds. The benchmark checks that the counters of wrong frames stay at 0
 * (they are read while frames arrive, so "total minus right ones" would race). */
__u64 ipv4_frames = 0;
__u64 wrong_macs = 0;    /* not to sink_mac from dut_mac */
__u64 to_vip = 0;        /* UDP to vip_address:vip_port (not translated) */
__u64 to_backend = 0;    /* UDP to backend_address:backend_port (translated) */
__u64 to_other = 0;      /* anything else */
__u64 from_client = 0;   /* source client_address */
__u64 from_nat = 0;      /* source nat_address */
__u64 from_other = 0;    /* any other source */

static __always_inline int same_mac(const __u8 *a, const volatile __u8 *b) {
    for (int i = 0; i < ETH_ALEN; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end) return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
    __sync_fetch_and_add(&ipv4_frames, 1);
    if (!same_mac(eth->h_dest, sink_mac) || !same_mac(eth->h_source, dut_mac))
        __sync_fetch_and_add(&wrong_macs, 1);
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) {
        __sync_fetch_and_add(&to_other, 1);
        __sync_fetch_and_add(&from_other, 1);
        return XDP_DROP;
    }
    if (ip->saddr == client_address)
        __sync_fetch_and_add(&from_client, 1);
    else if (ip->saddr == nat_address)
        __sync_fetch_and_add(&from_nat, 1);
    else
        __sync_fetch_and_add(&from_other, 1);
    if (ip->daddr == vip_address && udp->dest == vip_port)
        __sync_fetch_and_add(&to_vip, 1);
    else if (ip->daddr == backend_address && udp->dest == backend_port)
        __sync_fetch_and_add(&to_backend, 1);
    else
        __sync_fetch_and_add(&to_other, 1);
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
