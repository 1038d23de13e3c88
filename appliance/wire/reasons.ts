// The results of the wire views' check(): OK, or the reason the frame is refused.
//
// A reason is also the slot of the per-worker counter the stack counts that drop in
// (appliance/stack/counters.ts numbers the other slots around these and re-exports them);
// the wire layer only names them, so that it imports nothing from the stack.

/** check() passed. */
export const OK = 0;

export const DROP_ETH_SHORT = 9;
export const DROP_VLAN_STACKED = 11; // more than one 802.1Q tag
export const DROP_ARP_MALFORMED = 12;
export const DROP_IP4_MALFORMED = 15;
export const DROP_IP4_CHECKSUM = 16;
export const DROP_IP4_OPTIONS = 17;
export const DROP_IP4_FRAGMENT = 18;
export const DROP_IP6_MALFORMED = 20;
export const DROP_IP6_EXTENSION = 21;
export const DROP_ICMP_MALFORMED = 24;
export const DROP_ICMP_CHECKSUM = 25;
export const DROP_NDP_MALFORMED = 27;
export const DROP_UDP_MALFORMED = 29;
export const DROP_UDP_CHECKSUM = 30;

/** A UDP checksum accepted in the offload form: not a drop, counted apart. */
export const UDP_CSUM_OFFLOAD = 40;

export const DROP_TCP_MALFORMED = 42; // shorter than a header, or a data offset past the segment
export const DROP_TCP_CHECKSUM = 43;
/** A TCP checksum accepted in the offload form: not a drop, counted apart. */
export const TCP_CSUM_OFFLOAD = 44;
export const DROP_TCP_OPTIONS = 45; // an option list that runs past the header, or a malformed MSS/window scale

/**
 * How received UDP/TCP checksums are checked. AUTO verifies, but accepts the form a local
 * peer with transmit checksum offload sends (a veth or container peer: the field holds only
 * the pseudo-header sum, to be finished by hardware that is not there); STRICT verifies
 * every one; OFF verifies none.
 */
export const CSUM_OFF = 0;
export const CSUM_STRICT = 1;
export const CSUM_AUTO = 2;

/**
 * Is `field` the checksum-offload form for this pseudo-header sum? Linux leaves
 * ~csum_tcpudp_magic(...) inverted once more in the field (udp_set_csum, tcp_v4_send_check):
 * the folded pseudo-header sum itself, in either one's-complement form of zero.
 */
export function isOffloadForm(field: number, pseudo: number): boolean {
  return field === pseudo || (field === 0xffff && pseudo === 0) || (field === 0 && pseudo === 0xffff);
}
