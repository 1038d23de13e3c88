// Per-worker counters: what the stack did with each frame, and why it dropped what it
// dropped. Malformed input is never an exception: it is a drop with a named reason.
//
// Each worker owns one slice of a shared Float64Array (COUNTER_STRIDE doubles, a whole
// number of 64-byte cache lines, so no two workers ever write the same line); readers sum
// the slices when asked. Indexes below name the slots; the reasons the wire views give
// (appliance/wire/reasons.ts) are slots too, re-exported here.

export * from '../wire/reasons.js';

export const RX_FRAMES = 1;
export const TX_FRAMES = 2;
export const TX_RING_FULL = 3; // answers dropped because the TX ring was full
export const ARP_REPLIES = 4;
export const NDP_ADVERTISEMENTS = 5;
export const ICMP_ECHO_REPLIES = 6;
export const ICMP6_ECHO_REPLIES = 7;
export const DNS_ANSWERS = 8;
// Drops, by reason.
export const DROP_ETH_TYPE = 10; // neither ARP, IPv4 nor IPv6
export const DROP_ARP_NOT_REQUEST = 13;
export const DROP_ARP_NOT_OURS = 14;
export const DROP_IP4_NOT_OURS = 19;
export const DROP_IP6_NOT_OURS = 22;
export const DROP_IP_PROTOCOL = 23; // a transport the appliance does not serve (TCP, for now)
export const DROP_ICMP_TYPE = 26; // not an echo request (or NS for ICMPv6)
export const DROP_NDP_NOT_OURS = 28;
export const DROP_UDP_PORT = 31;
export const DROP_DNS = 32; // the responder dropped it (a response, or no header)
export const DROP_TOO_BIG = 33; // the answer would not fit the frame
/** A source no answer may go to: broadcast, multicast, unspecified (RFC 1122 §3.2.1.3, RFC 4291 §2.7). */
export const DROP_SRC_ADDRESS = 34;
/** A broadcast or multicast source MAC address (IEEE 802: no frame comes from a group). */
export const DROP_SRC_MAC = 35;
/** A unicast destination MAC that is not ours (another host's frame, seen on a shared segment). */
export const DROP_DST_MAC = 36;
/** A loopback source (127.0.0.0/8, ::1) arriving on a wire (RFC 1122 §3.2.1.3(g), RFC 4291 §2.5.3). */
export const DROP_SRC_LOOPBACK = 37;
/** One of our own addresses as the source: a reflection or a spoof. */
export const DROP_SRC_OURS = 38;
/** UDP from source port 0: no answer can go there (RFC 768). */
export const DROP_UDP_SRC_PORT0 = 39;
// 40: UDP_CSUM_OFFLOAD, 42-45: TCP_* (wire/reasons.ts).
/** Frames whose handling threw: a bug, contained (the frame is dropped, the worker goes on). */
export const HANDLER_ERRORS = 41;
/** Batches of the loop that received frames, and that sent frames (one kick each at most): frames per batch. */
export const RX_BATCHES = 46;
export const TX_BATCHES = 47;
/** The device's own counts (AF_XDP: the kernel's XDP_STATISTICS), copied in a few times a second. */
export const DEV_RX_DROPPED = 48; // dropped by the kernel for this socket for other reasons
export const DEV_RX_RING_FULL = 49; // frames for this socket dropped: its RX ring was full
export const DEV_FILL_RING_EMPTY = 50; // times the kernel found no free frame to receive into
export const DEV_TX_KICKS = 51; // calls into the kernel to transmit
export const DEV_TX_KICKS_DEFERRED = 52; // ... that it answered with "again"
/** Images the worker holds, a gauge: 1, more while responses under way still send from images a reload replaced. */
export const IMAGES_HELD = 53;
/** Access and query log records the worker put in its ring for the supervisor, and those lost to a full ring. */
export const LOG_RECORDS = 54;
export const LOG_RECORDS_LOST = 55;
// Counter families of the responders and of TCP live further on in the stride:
/** The DNS responder's counters (appliance/dns/responder.ts). */
export const DNS_BASE = 64;
/** TCP's counters (appliance/stack/tcp/counters.ts). */
export const TCP_BASE = 96;
/** The DNS-over-TCP session's counters (appliance/dns/stream.ts). */
export const DNS_STREAM_BASE = 144;
/** The HTTP session's counters (appliance/http/session.ts). */
export const HTTP_BASE = 152;
/** Response rate limiting's counters (appliance/dns/rrl.ts). */
export const RRL_BASE = 168;

export const STACK_COUNTER_NAMES: readonly string[] = [
  'unused', 'rx_frames', 'tx_frames', 'tx_ring_full', 'arp_replies', 'ndp_advertisements', 'icmp_echo_replies', 'icmp6_echo_replies',
  'dns_answers', 'drop_eth_short', 'drop_eth_type', 'drop_vlan_stacked', 'drop_arp_malformed', 'drop_arp_not_request',
  'drop_arp_not_ours', 'drop_ip4_malformed', 'drop_ip4_checksum', 'drop_ip4_options', 'drop_ip4_fragment',
  'drop_ip4_not_ours', 'drop_ip6_malformed', 'drop_ip6_extension', 'drop_ip6_not_ours', 'drop_ip_protocol',
  'drop_icmp_malformed', 'drop_icmp_checksum', 'drop_icmp_type', 'drop_ndp_malformed', 'drop_ndp_not_ours',
  'drop_udp_malformed', 'drop_udp_checksum', 'drop_udp_port', 'drop_dns', 'drop_too_big', 'drop_src_address',
  'drop_src_mac', 'drop_dst_mac', 'drop_src_loopback', 'drop_src_ours', 'drop_udp_src_port0', 'udp_csum_offload', 'handler_errors',
  'drop_tcp_malformed', 'drop_tcp_checksum', 'tcp_csum_offload', 'drop_tcp_options', 'rx_batches', 'tx_batches',
  'dev_rx_dropped', 'dev_rx_ring_full', 'dev_fill_ring_empty', 'dev_tx_kicks', 'dev_tx_kicks_deferred',
  'images_held', 'log_records', 'log_records_lost',
];

/** The names above that are gauges (a level now), not counters. */
export const GAUGE_NAMES: ReadonlySet<string> = new Set(['images_held']);

/** Doubles per worker: 256 = 2 KiB = 32 cache lines, room to grow. */
export const COUNTER_STRIDE = 256;
