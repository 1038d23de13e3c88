/* netmap-binding: one AF_XDP socket, its UMEM and its four rings, mapped into JS.
 *
 *   UMEM (one anonymous mapping, frames × frameSize bytes, exposed as one ArrayBuffer)
 *   ┌──────────────┬──────────────┬──────────────┬─────┐
 *   │ frame 0      │ frame 1      │ frame 2      │ ... │   frame i starts at i × frameSize
 *   └──────────────┴──────────────┴──────────────┴─────┘
 *   a received frame: [ 256 B headroom (XDP_PACKET_HEADROOM) | packet ... ]
 *
 *   each ring (one shared mapping, exposed as one ArrayBuffer; offsets from XDP_MMAP_OFFSETS)
 *   ┌──────────┬──────────┬───────┬──────────────────────────────────────┐
 *   │ producer │ consumer │ flags │ desc[0] desc[1] ... desc[size - 1]    │
 *   └──────────┴──────────┴───────┴──────────────────────────────────────┘
 *   fill, completion: desc = u64 UMEM address
 *   rx, tx:           desc = { u64 addr; u32 len; u32 options } (16 bytes)
 *
 *   app ──fill──► kernel ──rx──► app ──tx──► kernel ──completion──► app
 *
 * JS moves producer/consumer itself (Atomics on Uint32Array views); C is called once per
 * batch at most: to kick transmission (sendto), to wake the fill side (recvfrom) or to
 * wait (poll). close() detaches the ArrayBuffers before unmapping, so no JS view can
 * reach freed memory, then closes the socket: the mappings hold the socket, so unmapping
 * must come first or the queue stays bound (EBUSY on the next bind). */
#include <linux/if_xdp.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
/* Kernel 6.17+; not in Debian 12's headers. */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif
/* The kernel's batch in copy mode when no budget is set (TX_BATCH_SIZE). */
#define XSK_DEFAULT_TX_BATCH 32
#define KICK_MAX_TRIES 64

enum { R_FILL, R_COMP, R_RX, R_TX, R_COUNT };
static const char *ring_names[R_COUNT] = {"fill", "comp", "rx", "tx"};

typedef struct {
  int fd;
  void *umem;
  size_t umem_len;
  void *ring[R_COUNT];
  size_t ring_len[R_COUNT];
  napi_ref ab[R_COUNT + 1]; /* umem, then the rings */
  int closed;
} xsk_t;

static void unmap_all(xsk_t *x) {
  for (int i = 0; i < R_COUNT; i++)
    if (x->ring[i]) munmap(x->ring[i], x->ring_len[i]), x->ring[i] = NULL;
  if (x->umem) munmap(x->umem, x->umem_len), x->umem = NULL;
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  xsk_t *x = data;
  /* Never closed: the ArrayBuffers may still be reachable, so the memory stays mapped
   * until the process exits; only a closed socket's bookkeeping is freed. */
  if (x->closed) free(x);
}

static int queue_count(const char *ifname) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 0;
  struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strnlen(ifname, sizeof ifr.ifr_name - 1));
  ifr.ifr_data = (void *)&ch;
  int n = ioctl(s, SIOCETHTOOL, &ifr) == 0 ? (int)(ch.rx_count + ch.combined_count) : 0;
  close(s);
  return n;
}

static int is_pow2(uint32_t v) { return v && !(v & (v - 1)); }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static napi_value ring_object(napi_env env, napi_value ab, const struct xdp_ring_offset *o, uint32_t size) {
  napi_value r;
  if (napi_create_object(env, &r) != napi_ok) return NULL;
  napi_set_named_property(env, r, "buffer", ab);
  set_u32(env, r, "producer", (uint32_t)o->producer);
  set_u32(env, r, "consumer", (uint32_t)o->consumer);
  set_u32(env, r, "flags", (uint32_t)o->flags);
  set_u32(env, r, "desc", (uint32_t)o->desc);
  set_u32(env, r, "size", size);
  return r;
}

/* xskOpen({ ifname, netns?, queue, frames, frameSize, fillSize, compSize, rxSize, txSize,
 *           xskMapFd?, txBudget?, copyMode?: 0 auto | 1 copy | 2 zero-copy, needWakeup?,
 *           busyWaitMs?, socketFamily? (tests only: a family the kernel does not know) })
 *   -> { handle, fd, ifindex, umem, zerocopy, txBudget, rings: { fill, comp, rx, tx } } */
napi_value xsk_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));
  if (argc < 1) return throw_usage(env, "xskOpen(options) needs an options object");
  char ifname[64], ns[256];
  int has_if, has_ns, need_wakeup = 1;
  uint32_t queue = 0, frames = 4096, frame_size = 2048, sizes[R_COUNT] = {2048, 2048, 2048, 2048};
  uint32_t tx_budget = 0, copy_mode = 0, busy_wait_ms = 2000;
  int32_t map_fd = -1, family = AF_XDP;
  if (opt_str(env, opts, "ifname", ifname, sizeof ifname, &has_if) ||
      opt_str(env, opts, "netns", ns, sizeof ns, &has_ns) || opt_u32(env, opts, "queue", &queue) ||
      opt_u32(env, opts, "frames", &frames) || opt_u32(env, opts, "frameSize", &frame_size) ||
      opt_u32(env, opts, "fillSize", &sizes[R_FILL]) || opt_u32(env, opts, "compSize", &sizes[R_COMP]) ||
      opt_u32(env, opts, "rxSize", &sizes[R_RX]) || opt_u32(env, opts, "txSize", &sizes[R_TX]) ||
      opt_i32(env, opts, "xskMapFd", &map_fd) || opt_u32(env, opts, "txBudget", &tx_budget) ||
      opt_u32(env, opts, "copyMode", &copy_mode) || opt_bool(env, opts, "needWakeup", &need_wakeup) ||
      opt_u32(env, opts, "busyWaitMs", &busy_wait_ms) || opt_i32(env, opts, "socketFamily", &family))
    return NULL;
  if (!has_if) return throw_usage(env, "xskOpen: option ifname is required");
  if (frames == 0 || (uint64_t)frames * frame_size > 0xffffffffULL)
    return throw_usage(env, "xskOpen: frames × frameSize must be between 1 byte and 4 GiB (addresses are u32 in JS)");
  for (int i = 0; i < R_COUNT; i++)
    if (!is_pow2(sizes[i]))
      return throw_usage(env, "xskOpen: %s ring size %u must be a power of two", ring_names[i], sizes[i]);

  netns_guard g;
  if (netns_enter(env, has_ns ? ns : NULL, &g)) return NULL;
  napi_value result = NULL;
  xsk_t *x = calloc(1, sizeof *x);
  if (!x) {
    throw_sys(env, E_OPEN, "calloc", ENOMEM, "out of memory");
    goto out;
  }
  x->fd = -1;
  uint32_t ifindex;
  if (iface_index(env, ifname, &ifindex)) goto fail;

  x->fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (x->fd < 0) {
    int e = errno;
    if (e == EPERM || e == EACCES)
      throw_sys(env, E_PERMISSION, "socket(AF_XDP)", e,
                "AF_XDP sockets need CAP_NET_RAW (and CAP_BPF, CAP_NET_ADMIN for the XDP program): run as "
                "root, or use the kernel-socket backend");
    else if (e == EAFNOSUPPORT || e == EPROTONOSUPPORT || e == EINVAL)
      throw_sys(env, E_UNSUPPORTED, "socket(AF_XDP)", e,
                "this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS); use the kernel-socket backend");
    else
      throw_sys(env, E_OPEN, "socket(AF_XDP)", e, "cannot create the AF_XDP socket");
    goto fail;
  }

  x->umem_len = (size_t)frames * frame_size;
  x->umem = mmap(NULL, x->umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (x->umem == MAP_FAILED) {
    x->umem = NULL;
    throw_sys(env, E_UMEM, "mmap", errno, "cannot allocate %zu bytes of UMEM; use fewer frames", x->umem_len);
    goto fail;
  }
  struct xdp_umem_reg reg = {.addr = (uint64_t)(uintptr_t)x->umem, .len = x->umem_len, .chunk_size = frame_size,
                             .headroom = 0, .flags = 0};
  if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0) {
    int e = errno;
    if (e == EINVAL)
      throw_sys(env, E_UMEM, "setsockopt(XDP_UMEM_REG)", e,
                "the kernel refused the UMEM: frameSize (%u) must be a power of two from 2048 to the page "
                "size (%ld), and frames (%u) at least 1",
                frame_size, sysconf(_SC_PAGESIZE), frames);
    else
      throw_sys(env, E_UMEM, "setsockopt(XDP_UMEM_REG)", e,
                "the kernel refused to pin %zu bytes of UMEM; raise the locked-memory limit (ulimit -l) "
                "or use fewer frames",
                x->umem_len);
    goto fail;
  }
  static const int ring_opt[R_COUNT] = {XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING, XDP_TX_RING};
  for (int i = 0; i < R_COUNT; i++) {
    if (setsockopt(x->fd, SOL_XDP, ring_opt[i], &sizes[i], sizeof sizes[i]) < 0) {
      throw_sys(env, E_OPEN, "setsockopt(XDP_*_RING)", errno, "the kernel refused a %s ring of %u entries",
                ring_names[i], sizes[i]);
      goto fail;
    }
  }
  struct xdp_mmap_offsets off;
  socklen_t olen = sizeof off;
  if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &olen) < 0) {
    throw_sys(env, E_OPEN, "getsockopt(XDP_MMAP_OFFSETS)", errno, "cannot read the ring layout");
    goto fail;
  }
  const struct xdp_ring_offset *ro[R_COUNT] = {&off.fr, &off.cr, &off.rx, &off.tx};
  static const uint64_t pgoff[R_COUNT] = {XDP_UMEM_PGOFF_FILL_RING, XDP_UMEM_PGOFF_COMPLETION_RING,
                                          XDP_PGOFF_RX_RING, XDP_PGOFF_TX_RING};
  for (int i = 0; i < R_COUNT; i++) {
    size_t desc = (i == R_RX || i == R_TX) ? sizeof(struct xdp_desc) : sizeof(uint64_t);
    x->ring_len[i] = ro[i]->desc + (size_t)sizes[i] * desc;
    void *m = mmap(NULL, x->ring_len[i], PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, x->fd, (off_t)pgoff[i]);
    if (m == MAP_FAILED) {
      throw_sys(env, E_OPEN, "mmap", errno, "cannot map the %s ring", ring_names[i]);
      goto fail;
    }
    x->ring[i] = m;
  }

  /* Copy mode sends at most 32 descriptors per sendto() unless told otherwise; the
   * kernel takes 32 .. TX ring size. Kernels before 6.17 do not know the option. */
  uint32_t budget = XSK_DEFAULT_TX_BATCH;
  if (tx_budget) {
    uint32_t b = tx_budget < XSK_DEFAULT_TX_BATCH ? XSK_DEFAULT_TX_BATCH : tx_budget;
    if (b > sizes[R_TX]) b = sizes[R_TX];
    if (setsockopt(x->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &b, sizeof b) == 0) budget = b;
  }

  struct sockaddr_xdp sa = {.sxdp_family = AF_XDP, .sxdp_ifindex = ifindex, .sxdp_queue_id = queue};
  sa.sxdp_flags = (uint16_t)((need_wakeup ? XDP_USE_NEED_WAKEUP : 0) |
                             (copy_mode == 1 ? XDP_COPY : copy_mode == 2 ? XDP_ZEROCOPY : 0));
  int waited = 0, rc;
  /* A socket closed a moment ago may still hold the queue: its release is asynchronous. */
  while ((rc = bind(x->fd, (struct sockaddr *)&sa, sizeof sa)) < 0 && errno == EBUSY && waited < (int)busy_wait_ms) {
    sleep_ms(5);
    waited += 5;
  }
  if (rc < 0) {
    int e = errno, nq = queue_count(ifname);
    if (e == EBUSY)
      throw_sys(env, E_BUSY, "bind", e,
                "queue %u of %s is bound by another AF_XDP socket (still after %u ms); close it first "
                "(await device.close(): the kernel releases a queue asynchronously)",
                queue, ifname, busy_wait_ms);
    else if (e == EINVAL && nq > 0 && queue >= (uint32_t)nq)
      throw_sys(env, E_QUEUE, "bind", e, "%s has %d RX queue(s) (0..%d); queue %u is out of range", ifname, nq,
                nq - 1, queue);
    else if (e == EOPNOTSUPP && copy_mode == 2)
      throw_sys(env, E_OPEN, "bind", e, "the driver of %s has no zero-copy AF_XDP; use copy mode or auto",
                ifname);
    else if (e == ENETDOWN)
      throw_sys(env, E_IFACE, "bind", e, "%s is down; bring it up (ip link set dev %s up)", ifname, ifname);
    else
      throw_sys(env, E_OPEN, "bind", e, "cannot bind the AF_XDP socket to %s queue %u", ifname, queue);
    goto fail;
  }
  struct xdp_options xo = {0};
  socklen_t xolen = sizeof xo;
  int zerocopy = getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &xo, &xolen) == 0 && (xo.flags & XDP_OPTIONS_ZEROCOPY);

  if (map_fd >= 0 && xskmap_put(map_fd, queue, x->fd) < 0) {
    throw_sys(env, E_ATTACH, "bpf(BPF_MAP_UPDATE_ELEM)", errno,
              "cannot register the socket in the XSKMAP for queue %u; is the queue below the program's "
              "maxQueues?",
              queue);
    goto fail;
  }

  napi_value obj, rings, handle, ab[R_COUNT + 1];
  int made = 0;
#define NAPI_OR_FAIL(call)                                      \
  do {                                                          \
    napi_status st_ = (call);                                   \
    if (st_ != napi_ok) {                                       \
      throw_napi(env, #call, st_);                              \
      goto fail_napi;                                           \
    }                                                           \
  } while (0)
  NAPI_OR_FAIL(napi_create_object(env, &obj));
  NAPI_OR_FAIL(napi_create_object(env, &rings));
  NAPI_OR_FAIL(napi_create_external_arraybuffer(env, x->umem, x->umem_len, NULL, NULL, &ab[0]));
  made = 1;
  for (int i = 0; i < R_COUNT; i++, made++)
    NAPI_OR_FAIL(napi_create_external_arraybuffer(env, x->ring[i], x->ring_len[i], NULL, NULL, &ab[i + 1]));
  for (int i = 0; i <= R_COUNT; i++) NAPI_OR_FAIL(napi_create_reference(env, ab[i], 1, &x->ab[i]));
  for (int i = 0; i < R_COUNT; i++)
    napi_set_named_property(env, rings, ring_names[i], ring_object(env, ab[i + 1], ro[i], sizes[i]));
  NAPI_OR_FAIL(napi_create_external(env, x, handle_finalize, NULL, &handle));
#undef NAPI_OR_FAIL
  napi_set_named_property(env, obj, "handle", handle);
  napi_set_named_property(env, obj, "umem", ab[0]);
  napi_set_named_property(env, obj, "rings", rings);
  set_u32(env, obj, "fd", (uint32_t)x->fd);
  set_u32(env, obj, "ifindex", ifindex);
  set_bool(env, obj, "zerocopy", zerocopy);
  set_u32(env, obj, "txBudget", budget);
  result = obj;
  goto out;

fail_napi:
  /* No view may outlive the mapping. */
  for (int i = 0; i < made; i++) napi_detach_arraybuffer(env, ab[i]);
  for (int i = 0; i <= R_COUNT; i++)
    if (x->ab[i]) napi_delete_reference(env, x->ab[i]);
fail:
  unmap_all(x);
  if (x->fd >= 0) close(x->fd);
  free(x);
out:
  netns_leave(&g);
  return result;
}

static xsk_t *get_handle(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok || *argc < 1) {
    throw_usage(env, "expected a socket handle from xskOpen");
    return NULL;
  }
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    throw_usage(env, "expected a socket handle from xskOpen");
    return NULL;
  }
  return p;
}

/* xskClose(handle): detach every ArrayBuffer (JS views of them now read as empty), unmap,
 * then close the socket. Idempotent. */
napi_value xsk_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  xsk_t *x = get_handle(env, info, &argc, argv);
  if (!x || x->closed) return NULL;
  for (int i = 0; i <= R_COUNT; i++) {
    if (!x->ab[i]) continue;
    napi_value ab;
    if (napi_get_reference_value(env, x->ab[i], &ab) == napi_ok && ab) napi_detach_arraybuffer(env, ab);
    napi_delete_reference(env, x->ab[i]);
    x->ab[i] = NULL;
  }
  unmap_all(x);
  close(x->fd);
  x->fd = -1;
  x->closed = 1;
  return NULL;
}

/* xskKick(fd) -> 0, or the errno that asks to try again later (EAGAIN, EBUSY, ENOBUFS,
 * ENETDOWN). Copy mode stops after the TX budget with EAGAIN while descriptors remain, and
 * also when the completion ring is full: retry a bounded number of times, then let the
 * caller reap completions and kick again on its next batch. */
napi_value xsk_kick(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return throw_usage(env, "xskKick(fd)");
  int e = 0;
  for (int i = 0; i < KICK_MAX_TRIES; i++) {
    if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) return make_i32(env, 0);
    e = errno;
    if (e != EAGAIN && e != EBUSY && e != EINTR) break;
  }
  if (e == EAGAIN || e == EBUSY || e == EINTR || e == ENOBUFS || e == ENETDOWN) return make_i32(env, e);
  return throw_sys(env, E_OPEN, "sendto", e, "transmit kick on AF_XDP socket %d failed", fd);
}

/* xskWakeRx(fd): asks the kernel to look at the fill ring (needed when its need_wakeup
 * flag is set, which happens in zero-copy mode). */
napi_value xsk_wake_rx(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return throw_usage(env, "xskWakeRx(fd)");
  if (recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 && errno != EAGAIN && errno != EBUSY &&
      errno != EINTR && errno != ENOBUFS && errno != ENETDOWN)
    return throw_sys(env, E_OPEN, "recvfrom", errno, "receive wake-up on AF_XDP socket %d failed", fd);
  return NULL;
}

/* xskWait(fd, timeoutMs, events) -> revents (0 on timeout or signal). Blocks this thread:
 * a worker calls it only when its rings are idle. */
napi_value xsk_wait(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, timeout, events;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &timeout) != napi_ok || napi_get_value_int32(env, argv[2], &events) != napi_ok)
    return throw_usage(env, "xskWait(fd, timeoutMs, events)");
  struct pollfd p = {.fd = fd, .events = (short)events};
  int n = poll(&p, 1, timeout);
  if (n < 0) {
    if (errno == EINTR) return make_i32(env, 0);
    return throw_sys(env, E_OPEN, "poll", errno, "waiting on AF_XDP socket %d failed", fd);
  }
  return make_i32(env, n ? p.revents : 0);
}

/* xskStats(fd, out: Float64Array(6)): the kernel's XDP_STATISTICS, in the struct's order:
 * rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs,
 * tx_ring_empty_descs. */
napi_value xsk_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type tt;
  size_t n;
  void *data;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &tt, &n, &data, NULL, NULL) != napi_ok || tt != napi_float64_array ||
      n < 6)
    return throw_usage(env, "xskStats(fd, out: Float64Array(6))");
  struct xdp_statistics st;
  socklen_t len = sizeof st;
  memset(&st, 0, sizeof st);
  if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
    return throw_sys(env, E_OPEN, "getsockopt(XDP_STATISTICS)", errno, "cannot read the ring statistics");
  double *out = data;
  out[0] = (double)st.rx_dropped;
  out[1] = (double)st.rx_invalid_descs;
  out[2] = (double)st.tx_invalid_descs;
  out[3] = (double)st.rx_ring_full;
  out[4] = (double)st.rx_fill_ring_empty_descs;
  out[5] = (double)st.tx_ring_empty_descs;
  return NULL;
}
