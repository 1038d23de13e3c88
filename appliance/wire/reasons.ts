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
