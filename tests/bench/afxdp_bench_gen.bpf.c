/* Traffic generator of tests/bench/afxdp_forwarding_bench.py, run by afxdp_bench_xdp with
 * BPF_PROG_RUN in live-frames mode: the kernel hands this program the same template frame
 * again and again, and what it returns XDP_TX for leaves through the interface the run is
 * bound to, straight into the veth peer (the device under test), without a socket, a qdisc
 * or a copy. That makes it several times cheaper per frame than any DUT over AF_XDP copy
 * mode, so the DUT, not the generator, limits the rate.
 *
 * Each frame gets the next UDP source port of a range of `flows` ports, so the DUT sees
 * that many distinct 5-tuples in round-robin order (ringgate's connection table holds one
 * entry per tuple). The template's UDP checksum is 0 ("none", valid for IPv4), so changing
 * the port needs no checksum update. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 flows = 1;
const volatile __u32 src_port_first = 1024;

__u64 frames_sent = 0; /* read by user space through the skeleton's .bss */
__u32 next_flow = 0;

SEC("xdp")
int bench_generate(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > data_end) return XDP_ABORTED;

    /* One BPF_PROG_RUN executes on one CPU at a time: plain increments suffice. */
    __u32 flow = next_flow;
    next_flow = flow + 1 >= flows ? 0 : flow + 1;
    udp->source = bpf_htons((__u16)(src_port_first + flow));
    frames_sent += 1;
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
