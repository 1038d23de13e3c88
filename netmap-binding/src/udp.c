/* netmap-binding: UDP through kernel sockets, a batch per system call (recvmmsg and
 * sendmmsg), for the socket backend's DNS. System calls only: the datagrams live in memory
 * JS owns and answers in place; C copies nothing.
 *
 * A batch is three typed arrays JS allocates once:
 *   bufs   Uint8Array of n slots of slotSize bytes: the datagrams, then the answers
 *   lens   Uint32Array(n): received lengths (0: a datagram to skip: truncated, or empty);
 *          the answers' lengths to send (0: nothing for that slot)
 *   names  Uint8Array(n * 28): each peer's sockaddr (sockaddr_in or sockaddr_in6), as the
 *          kernel wrote it, and where the answer goes
 *
 * udpOpen(addr: Uint8Array(4|16), port, reusePort) → { fd, port }
 * udpRecv(fd, bufs, slotSize, lens, names, max, timeoutMs) → datagrams received (0: none
 *          within the timeout)
 * udpSend(fd, bufs, slotSize, lens, names, n) → answers the kernel took; an answer it
 *          refuses (an unreachable peer) is skipped, counted in the second element of
 *          udpSend's result array: [sent, refused, wouldBlock] */
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define UDP_BATCH_MAX 256
#define NAME_LEN 28

static int borrow(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *n) {
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, n, data, NULL, NULL) != napi_ok || t != want) return -1;
  return 0;
}

napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *addr;
  size_t alen;
  uint32_t port;
  bool reuse = false;
  if (argc < 3 || borrow(env, argv[0], napi_uint8_array, &addr, &alen) < 0 || (alen != 4 && alen != 16) ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535 || napi_get_value_bool(env, argv[2], &reuse) != napi_ok)
    return throw_usage(env, "udpOpen(addr: Uint8Array(4 | 16), port, reusePort)");
  int v6 = alen == 16;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_sys(env, E_OPEN, "socket(SOCK_DGRAM)", errno, "cannot create a UDP socket");
  int one = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int e = errno;
    close(fd);
    return throw_sys(env, E_OPEN, "setsockopt(SO_REUSEPORT)", e, "cannot share the UDP port between workers");
  }
  /* Room for a burst while the worker answers the batch before: 4 MiB each way, past
   * net.core.rmem_max when allowed (SO_RCVBUFFORCE, CAP_NET_ADMIN), else what it allows. */
  int room = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) < 0) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room) < 0) (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (v6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    memcpy(&s6->sin6_addr, addr, 16);
    sl = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    memcpy(&s4->sin_addr, addr, 4);
    sl = sizeof *s4;
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    return throw_sys(env, e == EACCES ? E_PERMISSION : E_OPEN, "bind", e,
                     e == EADDRINUSE ? "the UDP port is taken" : e == EACCES ? "a port below 1024 needs CAP_NET_BIND_SERVICE" : "cannot bind the UDP socket");
  }
  sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
    int e = errno;
    close(fd);
    return throw_sys(env, E_OPEN, "getsockname", e, "cannot read the bound port");
  }
  uint16_t bound = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  napi_value out;
  NAPI_CALL(env, napi_create_object(env, &out));
  if (set_u32(env, out, "fd", (uint32_t)fd) < 0 || set_u32(env, out, "port", bound) < 0) return NULL;
  return out;
}

/* The batch arguments, checked: bufs holds count slots of slotSize, lens count entries, names count * 28. */
static int batch_args(napi_env env, napi_value *argv, uint32_t count, uint8_t **bufs, uint32_t *slot, uint32_t **lens, uint8_t **names) {
  size_t nb, nl, nn;
  void *b, *l, *n;
  if (napi_get_value_uint32(env, argv[2], slot) != napi_ok || *slot == 0 || borrow(env, argv[1], napi_uint8_array, &b, &nb) < 0 ||
      borrow(env, argv[3], napi_uint32_array, &l, &nl) < 0 || borrow(env, argv[4], napi_uint8_array, &n, &nn) < 0)
    return -1;
  if (count > UDP_BATCH_MAX || (size_t)count * *slot > nb || count > nl || (size_t)count * NAME_LEN > nn) return -1;
  *bufs = b;
  *lens = l;
  *names = n;
  return 0;
}

napi_value udp_recv(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, timeout;
  uint32_t max, slot;
  uint8_t *bufs, *names;
  uint32_t *lens;
  if (argc < 7 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_uint32(env, argv[5], &max) != napi_ok ||
      napi_get_value_int32(env, argv[6], &timeout) != napi_ok || batch_args(env, argv, max, &bufs, &slot, &lens, &names) < 0)
    return throw_usage(env, "udpRecv(fd, bufs, slotSize, lens: Uint32Array, names: Uint8Array(max * 28), max <= 256, timeoutMs)");
  struct mmsghdr msgs[UDP_BATCH_MAX];
  struct iovec iov[UDP_BATCH_MAX];
  for (uint32_t i = 0; i < max; i++) {
    iov[i].iov_base = bufs + (size_t)i * slot;
    iov[i].iov_len = slot;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = names + (size_t)i * NAME_LEN;
    msgs[i].msg_hdr.msg_namelen = NAME_LEN;
  }
  int n = recvmmsg(fd, msgs, max, MSG_DONTWAIT, NULL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && timeout > 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, timeout);
    if (r < 0 && errno != EINTR) return throw_sys(env, E_OPEN, "poll", errno, "waiting on UDP socket %d failed", fd);
    if (r <= 0) return make_i32(env, 0);
    n = recvmmsg(fd, msgs, max, MSG_DONTWAIT, NULL);
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return make_i32(env, 0);
    return throw_sys(env, E_OPEN, "recvmmsg", errno, "receiving on UDP socket %d failed", fd);
  }
  for (int i = 0; i < n; i++) lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
  return make_i32(env, n);
}

napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  uint32_t count, slot;
  uint8_t *bufs, *names;
  uint32_t *lens;
  void *res;
  size_t nres;
  if (argc < 7 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_uint32(env, argv[5], &count) != napi_ok ||
      batch_args(env, argv, count, &bufs, &slot, &lens, &names) < 0 || borrow(env, argv[6], napi_uint32_array, &res, &nres) < 0 || nres < 3)
    return throw_usage(env, "udpSend(fd, bufs, slotSize, lens, names, count <= 256, result: Uint32Array(3))");
  struct mmsghdr msgs[UDP_BATCH_MAX];
  struct iovec iov[UDP_BATCH_MAX];
  uint32_t k = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (lens[i] == 0 || lens[i] > slot) continue;
    uint8_t *name = names + (size_t)i * NAME_LEN;
    sa_family_t fam;
    memcpy(&fam, name, sizeof fam);
    iov[k].iov_base = bufs + (size_t)i * slot;
    iov[k].iov_len = lens[i];
    memset(&msgs[k], 0, sizeof msgs[k]);
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    msgs[k].msg_hdr.msg_name = name;
    msgs[k].msg_hdr.msg_namelen = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    k++;
  }
  uint32_t *out = res;
  out[0] = out[1] = out[2] = 0;
  uint32_t at = 0;
  int waits = 0;
  while (at < k) {
    int n = sendmmsg(fd, msgs + at, k - at, MSG_DONTWAIT);
    if (n > 0) {
      at += (uint32_t)n;
      out[0] += (uint32_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      /* The socket's send buffer is full: wait for room a little, a few times, then drop. */
      out[2]++;
      if (++waits > 4) break;
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      (void)poll(&p, 1, 1);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    /* The first message of the rest was refused (a peer the kernel cannot send to): skip it. */
    out[1]++;
    at++;
  }
  return make_u32(env, out[0]);
}
