/* netmap-binding: the XDP program, assembled by hand, its maps, and its bpf_link.
 *
 * The program steers to the AF_XDP sockets only what the appliance serves and passes
 * everything else to the kernel, so the host stays reachable on the same interface:
 *
 *   Ethernet ─┬─ ARP request, target IPv4 address ours ───────────────────────┐
 *             ├─ IPv4, destination ours ─┬─ ICMP echo request ─────────────────┤
 *             │  (first fragment only)   └─ UDP/TCP, (proto, dst port) ours ───┤
 *             ├─ IPv6, next header ─┬─ UDP/TCP: destination ours and port ours ┤──► XSKMAP[rx queue]
 *             │  (no ext. headers)  └─ ICMPv6 ─┬─ echo request: dst ours ──────┤    (no socket on the
 *             │                                └─ NS: target address ours ─────┘     queue: XDP_PASS,
 *             │                                                                       but XDP_DROP for TCP)
 *             └─ anything else ──────────────────────────────────────────────────► XDP_PASS
 *
 * Maps (hash maps): v4 addrs (key: 4 bytes as on the wire; value: ADDR_* flags), v6 addrs (16 bytes),
 * ports (key: u32 = protocol << 16 | the 16-bit port as loaded from the packet), and the
 * XSKMAP from queue index to socket. VLAN tags and IPv6 extension headers go to the kernel.
 *
 * Only neighbour *requests* (ARP request, NDP neighbour solicitation) are taken: the
 * appliance answers them for its addresses, and replies to the source of each request, so
 * it never needs replies. Replies and advertisements stay with the kernel, which may share
 * an address with the appliance (a host address whose port 53 the appliance serves) and
 * must then keep resolving its own neighbours.
 *
 * It is attached with BPF_LINK_CREATE, never through netlink: a bpf_link is released with
 * its last file descriptor, so the program detaches itself when the process dies, even by
 * SIGKILL. */
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

#define MAX_INSNS 192
/* Address map values: bit 0 present, ADDR_EXCLUSIVE: only the appliance has the address
 * (all TCP to it is the appliance's). */
#define ADDR_PRESENT 1
#define ADDR_EXCLUSIVE 2
#define MAX_ADDRS 256
#define MAX_PORTS 256

static int sys_bpf(int cmd, union bpf_attr *attr) {
  return (int)syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

/* ---- a tiny assembler: instructions plus forward/backward jumps to labels ---- */

enum label {
  L_PASS, L_REDIRECT, L_REDIRECT_TCP, L_ARP, L_IPV4, L_IPV6, L_V4_ICMP, L_L4PORTS, L_L4_MISS, L_V6_L4, L_V6_ICMP,
  L_V6_NS, L_V6_DST, L_COUNT
};

typedef struct {
  struct bpf_insn insn[MAX_INSNS];
  int target[MAX_INSNS]; /* label of a jump, or -1 */
  int at[L_COUNT];       /* instruction index of each label */
  int n;
} prog_t;

static void emit(prog_t *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm, int target) {
  if (p->n >= MAX_INSNS) return; /* caught by the size check in build_program */
  struct bpf_insn *i = &p->insn[p->n];
  memset(i, 0, sizeof *i);
  i->code = code;
  i->dst_reg = dst;
  i->src_reg = src;
  i->off = off;
  i->imm = imm;
  p->target[p->n++] = target;
}

#define LABEL(l) (p->at[(l)] = p->n)
#define MOV_REG(d, s) emit(p, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0, -1)
#define MOV_IMM(d, v) emit(p, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v, -1)
#define ALU_IMM(op, d, v) emit(p, BPF_ALU64 | (op) | BPF_K, d, 0, 0, v, -1)
#define ALU_REG(op, d, s) emit(p, BPF_ALU64 | (op) | BPF_X, d, s, 0, 0, -1)
#define LDX(sz, d, s, o) emit(p, BPF_LDX | (sz) | BPF_MEM, d, s, o, 0, -1)
#define STX(sz, d, s, o) emit(p, BPF_STX | (sz) | BPF_MEM, d, s, o, 0, -1)
#define JMP_IMM(op, d, v, l) emit(p, BPF_JMP | (op) | BPF_K, d, 0, 0, v, l)
#define JMP_REG(op, d, s, l) emit(p, BPF_JMP | (op) | BPF_X, d, s, 0, 0, l)
#define GOTO(l) emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0, l)
#define CALL(fn) emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, fn, -1)
#define EXIT() emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0, -1)
/* 64-bit immediate holding a map: two instruction slots. */
#define LD_MAP(d, fd)                                                  \
  do {                                                                 \
    emit(p, BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd, -1); \
    emit(p, 0, 0, 0, 0, 0, -1);                                        \
  } while (0)
/* if (dst + n > data_end) goto PASS: the bounds check the verifier wants before a read. */
#define NEED(base, n)                        \
  do {                                       \
    MOV_REG(BPF_REG_3, base);                \
    ALU_IMM(BPF_ADD, BPF_REG_3, n);          \
    JMP_REG(BPF_JGT, BPF_REG_3, BPF_REG_8, L_PASS); \
  } while (0)
/* r0 = lookup(map, fp - keyoff); if !r0 goto PASS */
#define LOOKUP_OR_PASS(mapfd, keyoff)              \
  do {                                             \
    LD_MAP(BPF_REG_1, mapfd);                      \
    MOV_REG(BPF_REG_2, BPF_REG_10);                \
    ALU_IMM(BPF_ADD, BPF_REG_2, -(keyoff));        \
    CALL(BPF_FUNC_map_lookup_elem);                \
    JMP_IMM(BPF_JEQ, BPF_REG_0, 0, L_PASS);        \
  } while (0)

/* Loads from the packet are little-endian on these machines: ethertypes and the port key
 * are compared in the byte-swapped form a u16 load produces. */
#define ETH_P_IP_LE 0x0008
#define ETH_P_IPV6_LE 0xdd86
#define ETH_P_ARP_LE 0x0608
#define ARP_REQUEST_LE 0x0100
#define IP_FRAG_MASK_LE 0xff1f /* htons(0x1fff): fragment offset */

/* Register use: r6 ctx, r7 data, r8 data_end, r9 protocol, r2 L4 header. */
static int build_program(prog_t *p, int m4, int m6, int mp, int mx) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < L_COUNT; i++) p->at[i] = -1;

  MOV_REG(BPF_REG_6, BPF_REG_1);
  LDX(BPF_W, BPF_REG_7, BPF_REG_6, offsetof(struct xdp_md, data));
  LDX(BPF_W, BPF_REG_8, BPF_REG_6, offsetof(struct xdp_md, data_end));
  NEED(BPF_REG_7, 14);
  LDX(BPF_H, BPF_REG_9, BPF_REG_7, 12);
  JMP_IMM(BPF_JEQ, BPF_REG_9, ETH_P_IP_LE, L_IPV4);
  JMP_IMM(BPF_JEQ, BPF_REG_9, ETH_P_IPV6_LE, L_IPV6);
  JMP_IMM(BPF_JEQ, BPF_REG_9, ETH_P_ARP_LE, L_ARP);
  GOTO(L_PASS);

  /* ARP (RFC 826): 14 + 28 bytes; opcode at 14 + 6, target protocol address at 14 + 24. */
  LABEL(L_ARP);
  NEED(BPF_REG_7, 42);
  LDX(BPF_H, BPF_REG_1, BPF_REG_7, 20);
  JMP_IMM(BPF_JNE, BPF_REG_1, ARP_REQUEST_LE, L_PASS);
  LDX(BPF_W, BPF_REG_1, BPF_REG_7, 38);
  STX(BPF_W, BPF_REG_10, BPF_REG_1, -4);
  LOOKUP_OR_PASS(m4, 4);
  GOTO(L_REDIRECT);

  /* IPv4 (RFC 791): destination at 14 + 16. */
  LABEL(L_IPV4);
  NEED(BPF_REG_7, 34);
  LDX(BPF_W, BPF_REG_1, BPF_REG_7, 30);
  STX(BPF_W, BPF_REG_10, BPF_REG_1, -4);
  LOOKUP_OR_PASS(m4, 4);
  LDX(BPF_W, BPF_REG_1, BPF_REG_0, 0); /* the address's flags, for a port that misses */
  STX(BPF_W, BPF_REG_10, BPF_REG_1, -24);
  LDX(BPF_H, BPF_REG_1, BPF_REG_7, 20);
  ALU_IMM(BPF_AND, BPF_REG_1, IP_FRAG_MASK_LE);
  JMP_IMM(BPF_JNE, BPF_REG_1, 0, L_PASS); /* a later fragment has no L4 header */
  LDX(BPF_B, BPF_REG_1, BPF_REG_7, 14);
  ALU_IMM(BPF_AND, BPF_REG_1, 15);
  ALU_IMM(BPF_LSH, BPF_REG_1, 2);
  JMP_IMM(BPF_JLT, BPF_REG_1, 20, L_PASS);
  LDX(BPF_B, BPF_REG_9, BPF_REG_7, 23);
  MOV_REG(BPF_REG_2, BPF_REG_7);
  ALU_IMM(BPF_ADD, BPF_REG_2, 14);
  ALU_REG(BPF_ADD, BPF_REG_2, BPF_REG_1);
  JMP_IMM(BPF_JEQ, BPF_REG_9, 6, L_L4PORTS);
  JMP_IMM(BPF_JEQ, BPF_REG_9, 17, L_L4PORTS);
  JMP_IMM(BPF_JNE, BPF_REG_9, 1, L_PASS);
  /* ICMP (RFC 792): echo request is type 8. */
  LABEL(L_V4_ICMP);
  NEED(BPF_REG_2, 1);
  LDX(BPF_B, BPF_REG_1, BPF_REG_2, 0);
  JMP_IMM(BPF_JEQ, BPF_REG_1, 8, L_REDIRECT);
  GOTO(L_PASS);

  /* UDP/TCP: r2 = L4 header, r9 = protocol; destination port at +2. */
  LABEL(L_L4PORTS);
  NEED(BPF_REG_2, 4);
  LDX(BPF_H, BPF_REG_1, BPF_REG_2, 2);
  ALU_IMM(BPF_LSH, BPF_REG_9, 16);
  ALU_REG(BPF_OR, BPF_REG_1, BPF_REG_9);
  STX(BPF_W, BPF_REG_10, BPF_REG_1, -4);
  LD_MAP(BPF_REG_1, mp);
  MOV_REG(BPF_REG_2, BPF_REG_10);
  ALU_IMM(BPF_ADD, BPF_REG_2, -4);
  CALL(BPF_FUNC_map_lookup_elem);
  JMP_IMM(BPF_JEQ, BPF_REG_0, 0, L_L4_MISS);
  JMP_IMM(BPF_JEQ, BPF_REG_9, 6 << 16, L_REDIRECT_TCP);
  GOTO(L_REDIRECT);

  /* A port we do not serve: the kernel's, unless it is TCP to an address only we have (then
   * the stack answers it, with a RST). */
  LABEL(L_L4_MISS);
  JMP_IMM(BPF_JNE, BPF_REG_9, 6 << 16, L_PASS);
  LDX(BPF_W, BPF_REG_1, BPF_REG_10, -24);
  ALU_IMM(BPF_AND, BPF_REG_1, ADDR_EXCLUSIVE);
  JMP_IMM(BPF_JEQ, BPF_REG_1, 0, L_PASS);
  GOTO(L_REDIRECT_TCP);

  /* IPv6 (RFC 8200): next header at 14 + 6, destination at 14 + 24. */
  LABEL(L_IPV6);
  NEED(BPF_REG_7, 54);
  LDX(BPF_B, BPF_REG_9, BPF_REG_7, 20);
  for (int k = 0; k < 4; k++) {
    LDX(BPF_W, BPF_REG_1, BPF_REG_7, 38 + 4 * k);
    STX(BPF_W, BPF_REG_10, BPF_REG_1, -16 + 4 * k);
  }
  JMP_IMM(BPF_JEQ, BPF_REG_9, 58, L_V6_ICMP);
  JMP_IMM(BPF_JEQ, BPF_REG_9, 6, L_V6_L4);
  JMP_IMM(BPF_JEQ, BPF_REG_9, 17, L_V6_L4);
  GOTO(L_PASS);
  LABEL(L_V6_L4);
  LOOKUP_OR_PASS(m6, 16);
  LDX(BPF_W, BPF_REG_1, BPF_REG_0, 0);
  STX(BPF_W, BPF_REG_10, BPF_REG_1, -24);
  MOV_REG(BPF_REG_2, BPF_REG_7);
  ALU_IMM(BPF_ADD, BPF_REG_2, 54);
  GOTO(L_L4PORTS);

  /* ICMPv6 (RFC 4443, RFC 4861): echo request 128, neighbour solicitation 135. */
  LABEL(L_V6_ICMP);
  NEED(BPF_REG_7, 55);
  LDX(BPF_B, BPF_REG_1, BPF_REG_7, 54);
  JMP_IMM(BPF_JEQ, BPF_REG_1, 128, L_V6_DST);
  JMP_IMM(BPF_JNE, BPF_REG_1, 135, L_PASS);
  /* NS goes to a solicited-node multicast address: match its target (54 + 8) instead. */
  LABEL(L_V6_NS);
  NEED(BPF_REG_7, 78);
  for (int k = 0; k < 4; k++) {
    LDX(BPF_W, BPF_REG_1, BPF_REG_7, 62 + 4 * k);
    STX(BPF_W, BPF_REG_10, BPF_REG_1, -16 + 4 * k);
  }
  LABEL(L_V6_DST);
  LOOKUP_OR_PASS(m6, 16);
  /* fall through */

  LABEL(L_REDIRECT);
  LD_MAP(BPF_REG_1, mx);
  LDX(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct xdp_md, rx_queue_index));
  MOV_IMM(BPF_REG_3, XDP_PASS); /* the action when no socket is bound on this queue */
  CALL(BPF_FUNC_redirect_map);
  EXIT();

  /* TCP for our addresses and ports on a queue with no socket is dropped, never passed:
   * the kernel would answer it with a RST and break the connection. */
  LABEL(L_REDIRECT_TCP);
  LD_MAP(BPF_REG_1, mx);
  LDX(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct xdp_md, rx_queue_index));
  MOV_IMM(BPF_REG_3, XDP_DROP);
  CALL(BPF_FUNC_redirect_map);
  EXIT();

  LABEL(L_PASS);
  MOV_IMM(BPF_REG_0, XDP_PASS);
  EXIT();

  if (p->n >= MAX_INSNS) return -1;
  for (int i = 0; i < p->n; i++) {
    if (p->target[i] < 0) continue;
    int at = p->at[p->target[i]];
    if (at < 0) return -1;
    p->insn[i].off = (int16_t)(at - (i + 1));
  }
  return 0;
}

static int map_create(uint32_t type, uint32_t key, uint32_t value, uint32_t max, const char *name) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = max;
  strncpy(a.map_name, name, sizeof a.map_name - 1);
  return sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_put(int fd, const void *key, const void *value) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)value;
  a.flags = BPF_ANY;
  return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

int xskmap_put(int map_fd, uint32_t queue, int sock_fd) {
  uint32_t v = (uint32_t)sock_fd;
  return map_put(map_fd, &queue, &v);
}

static int load_program(const prog_t *p, char *log, uint32_t log_size) {
  static const char license[] = "GPL"; /* bpf_redirect_map is available to any license */
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.expected_attach_type = BPF_XDP;
  a.insns = (uint64_t)(uintptr_t)p->insn;
  a.insn_cnt = (uint32_t)p->n;
  a.license = (uint64_t)(uintptr_t)license;
  strncpy(a.prog_name, "appliance_xdp", sizeof a.prog_name - 1);
  if (log) {
    a.log_level = 1;
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = log_size;
    log[0] = 0;
  }
  /* The kernel may answer EAGAIN for a moment (libbpf tries five times, too). */
  int fd = -1;
  for (int attempt = 0; attempt < 5; attempt++) {
    fd = sys_bpf(BPF_PROG_LOAD, &a);
    if (fd >= 0 || errno != EAGAIN) break;
    usleep(20000);
  }
  return fd;
}

static int link_create(int prog_fd, uint32_t ifindex, uint32_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = (uint32_t)prog_fd;
  a.link_create.target_ifindex = ifindex;
  a.link_create.attach_type = BPF_XDP;
  a.link_create.flags = flags;
  return sys_bpf(BPF_LINK_CREATE, &a);
}

/* Is the n-byte address a one of the list's? */
static int contains(const uint8_t *list, size_t len, const uint8_t *a, size_t n) {
  for (size_t i = 0; list && i + n <= len; i += n)
    if (memcmp(list + i, a, n) == 0) return 1;
  return 0;
}

static void close_all(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]), fds[i] = -1;
}

/* xdpAttach({ ifname, netns?, mode?: 0 auto | 1 native | 2 generic, maxQueues?,
 *             ipv4?: Uint8Array (4n), ipv6?: Uint8Array (16n), udpPorts?, tcpPorts? })
 *   -> { linkFd, progFd, xskMapFd, ipv4MapFd, ipv6MapFd, portMapFd, ifindex, mode: 'native'|'generic' } */
napi_value xdp_attach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));
  if (argc < 1) return throw_usage(env, "xdpAttach(options) needs an options object");
  char ifname[64], ns[256];
  int has_if, has_ns;
  uint32_t mode = 0, max_queues = 64, nudp = 0, ntcp = 0;
  uint32_t udp[MAX_PORTS], tcp[MAX_PORTS];
  const uint8_t *v4, *v6, *x4, *x6;
  size_t v4len, v6len, x4len, x6len;
  if (opt_str(env, opts, "ifname", ifname, sizeof ifname, &has_if) ||
      opt_str(env, opts, "netns", ns, sizeof ns, &has_ns) || opt_u32(env, opts, "mode", &mode) ||
      opt_u32(env, opts, "maxQueues", &max_queues) || opt_bytes(env, opts, "ipv4", &v4, &v4len) ||
      opt_bytes(env, opts, "ipv6", &v6, &v6len) || opt_bytes(env, opts, "ipv4Exclusive", &x4, &x4len) ||
      opt_bytes(env, opts, "ipv6Exclusive", &x6, &x6len) ||
      opt_u32_array(env, opts, "udpPorts", udp, MAX_PORTS, &nudp) ||
      opt_u32_array(env, opts, "tcpPorts", tcp, MAX_PORTS, &ntcp))
    return NULL;
  if (!has_if) return throw_usage(env, "xdpAttach: option ifname is required");
  if (v4len % 4 || v6len % 16 || v4len / 4 > MAX_ADDRS || v6len / 16 > MAX_ADDRS)
    return throw_usage(env, "xdpAttach: ipv4 must hold 4-byte and ipv6 16-byte addresses, at most %d each",
                       MAX_ADDRS);
  if (mode > 2 || max_queues == 0 || max_queues > 1024)
    return throw_usage(env, "xdpAttach: mode must be 0, 1 or 2 and maxQueues 1 to 1024");

  netns_guard g;
  if (netns_enter(env, has_ns ? ns : NULL, &g)) return NULL;
  napi_value result = NULL;
  int fds[6] = {-1, -1, -1, -1, -1, -1}; /* m4 m6 mp mx prog link */
  uint32_t ifindex;
  if (iface_index(env, ifname, &ifindex)) goto out;

  const char *names[4] = {"appl_v4", "appl_v6", "appl_ports", "appl_xsks"};
  fds[0] = map_create(BPF_MAP_TYPE_HASH, 4, 4, MAX_ADDRS, names[0]);
  if (fds[0] >= 0) fds[1] = map_create(BPF_MAP_TYPE_HASH, 16, 4, MAX_ADDRS, names[1]);
  if (fds[1] >= 0) fds[2] = map_create(BPF_MAP_TYPE_HASH, 4, 4, 2 * MAX_PORTS, names[2]);
  if (fds[2] >= 0) fds[3] = map_create(BPF_MAP_TYPE_XSKMAP, 4, 4, max_queues, names[3]);
  if (fds[3] < 0) {
    int e = errno;
    throw_sys(env, e == EPERM ? E_PERMISSION : E_ATTACH, "bpf(BPF_MAP_CREATE)", e,
              e == EPERM ? "creating BPF maps needs CAP_BPF and CAP_NET_ADMIN: run as root"
                         : "the kernel refused a BPF map (XSKMAP needs CONFIG_XDP_SOCKETS)");
    goto out;
  }
  uint32_t one = 1;
  for (size_t i = 0; i < v4len / 4; i++) {
    uint32_t flags = ADDR_PRESENT | (contains(x4, x4len, v4 + 4 * i, 4) ? ADDR_EXCLUSIVE : 0);
    if (map_put(fds[0], v4 + 4 * i, &flags) < 0) goto map_fail;
  }
  for (size_t i = 0; i < v6len / 16; i++) {
    uint32_t flags = ADDR_PRESENT | (contains(x6, x6len, v6 + 16 * i, 16) ? ADDR_EXCLUSIVE : 0);
    if (map_put(fds[1], v6 + 16 * i, &flags) < 0) goto map_fail;
  }
  for (uint32_t i = 0; i < nudp + ntcp; i++) {
    uint32_t port = i < nudp ? udp[i] : tcp[i - nudp], proto = i < nudp ? 17 : 6;
    if (port == 0 || port > 65535) {
      throw_usage(env, "xdpAttach: port %u out of range 1..65535", port);
      goto out;
    }
    /* The key as the program builds it: the port's wire bytes loaded as a u16. */
    uint32_t key = (proto << 16) | (((port & 0xff) << 8) | (port >> 8));
    if (map_put(fds[2], &key, &one) < 0) goto map_fail;
  }

  prog_t prog;
  if (build_program(&prog, fds[0], fds[1], fds[2], fds[3])) {
    throw_usage(env, "xdpAttach: internal error assembling the XDP program (label or size)");
    goto out;
  }
  fds[4] = load_program(&prog, NULL, 0);
  if (fds[4] < 0) {
    int e = errno;
    char *log = e == EPERM ? NULL : malloc(16384);
    if (log && load_program(&prog, log, 16384) < 0) {
      size_t l = strlen(log);
      const char *tail = l > 300 ? log + l - 300 : log;
      throw_sys(env, E_ATTACH, "bpf(BPF_PROG_LOAD)", e, "the verifier refused the XDP program: %s", tail);
    } else {
      throw_sys(env, e == EPERM ? E_PERMISSION : E_ATTACH, "bpf(BPF_PROG_LOAD)", e,
                e == EPERM ? "loading an XDP program needs CAP_BPF and CAP_NET_ADMIN: run as root"
                           : "the kernel refused the XDP program");
    }
    free(log);
    goto out;
  }

  const char *got = NULL;
  int e = 0;
  if (mode != 2) {
    fds[5] = link_create(fds[4], ifindex, XDP_FLAGS_DRV_MODE);
    if (fds[5] >= 0) got = "native";
    else e = errno;
  }
  if (!got && (mode == 2 || (mode == 0 && (e == EOPNOTSUPP || e == EINVAL)))) {
    fds[5] = link_create(fds[4], ifindex, XDP_FLAGS_SKB_MODE);
    if (fds[5] >= 0) got = "generic";
    else e = errno;
  }
  if (!got) {
    if (e == EBUSY || e == EEXIST)
      throw_sys(env, E_BUSY, "bpf(BPF_LINK_CREATE)", e,
                "interface %s already has an XDP program attached (Knot DNS and kxdpgun leave theirs "
                "behind; another appliance may be running). See it with `ip link show dev %s` and remove "
                "it with `ip link set dev %s xdp off`, if it is not in use",
                ifname, ifname, ifname);
    else if (mode == 1 && (e == EOPNOTSUPP || e == EINVAL))
      throw_sys(env, E_NATIVE, "bpf(BPF_LINK_CREATE)", e,
                "the driver of %s has no native XDP; ask for generic mode (or auto)", ifname);
    else if (e == ENOSPC)
      throw_sys(env, E_ATTACH, "bpf(BPF_LINK_CREATE)", e,
                "native XDP on veth %s needs at least as many RX queues as its peer has TX queues", ifname);
    else if (e == ERANGE || e == E2BIG)
      throw_sys(env, E_ATTACH, "bpf(BPF_LINK_CREATE)", e, "the MTU of %s is too large for XDP; lower it",
                ifname);
    else
      throw_sys(env, e == EPERM ? E_PERMISSION : E_ATTACH, "bpf(BPF_LINK_CREATE)", e,
                "cannot attach the XDP program to %s", ifname);
    goto out;
  }

  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) {
    throw_napi(env, "napi_create_object", napi_generic_failure);
    goto out;
  }
  set_u32(env, obj, "ipv4MapFd", (uint32_t)fds[0]);
  set_u32(env, obj, "ipv6MapFd", (uint32_t)fds[1]);
  set_u32(env, obj, "portMapFd", (uint32_t)fds[2]);
  set_u32(env, obj, "xskMapFd", (uint32_t)fds[3]);
  set_u32(env, obj, "progFd", (uint32_t)fds[4]);
  set_u32(env, obj, "linkFd", (uint32_t)fds[5]);
  set_u32(env, obj, "ifindex", ifindex);
  set_str(env, obj, "mode", got);
  result = obj;
  for (int i = 0; i < 6; i++) fds[i] = -1; /* owned by JS now */
  goto out;

map_fail:
  throw_sys(env, E_ATTACH, "bpf(BPF_MAP_UPDATE_ELEM)", errno, "cannot fill the address and port maps");
out:
  close_all(fds, 6);
  netns_leave(&g);
  return result;
}
