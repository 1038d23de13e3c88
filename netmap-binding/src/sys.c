/* netmap-binding: interfaces, namespaces, CPU pinning. */
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include <sys/mman.h>

int netns_enter(napi_env env, const char *path, netns_guard *g) {
  g->saved_fd = -1;
  if (!path || !path[0]) return 0;
  char full[300];
  /* A bare name means the `ip netns` file of that name. */
  if (strchr(path, '/')) snprintf(full, sizeof full, "%s", path);
  else snprintf(full, sizeof full, "/run/netns/%s", path);
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    throw_sys(env, E_NETNS, "open(/proc/thread-self/ns/net)", errno,
              "cannot remember the current network namespace; is /proc mounted?");
    return -1;
  }
  int fd = open(full, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    close(saved);
    throw_sys(env, E_NETNS, "open", e, "network namespace %s not found; create it (ip netns add) or fix the name",
              full);
    return -1;
  }
  if (setns(fd, CLONE_NEWNET) < 0) {
    int e = errno;
    close(fd);
    close(saved);
    throw_sys(env, e == EPERM ? E_PERMISSION : E_NETNS, "setns", e,
              "cannot enter network namespace %s; entering one needs CAP_SYS_ADMIN (run as root)", full);
    return -1;
  }
  close(fd);
  g->saved_fd = saved;
  return 0;
}

void netns_leave(netns_guard *g) {
  if (g->saved_fd < 0) return;
  /* Going back to a namespace this thread was in cannot fail short of a kernel bug;
   * there is nothing sensible to do if it did, so the result is ignored. */
  (void)setns(g->saved_fd, CLONE_NEWNET);
  close(g->saved_fd);
  g->saved_fd = -1;
}

int iface_index(napi_env env, const char *ifname, uint32_t *ifindex) {
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    int e = errno;
    throw_sys(env, E_IFACE, "if_nametoindex", e,
              "no network interface named \"%s\" in this network namespace; list them with `ip link`",
              ifname);
    return -1;
  }
  *ifindex = idx;
  return 0;
}

/* ifInfo(name: string, netns?: string): { ifindex, mac: number[6], mtu, rxQueues, txQueues }
 * Queue counts are 0 when the driver does not report its channels. */
napi_value sys_if_info(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE + 1], ns[256] = "";
  size_t len;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok)
    return throw_usage(env, "ifInfo(name, netns?): name must be a string");
  if (argc > 1) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t == napi_string) napi_get_value_string_utf8(env, argv[1], ns, sizeof ns, &len);
  }
  netns_guard g;
  if (netns_enter(env, ns, &g)) return NULL;
  napi_value result = NULL;
  uint32_t ifindex;
  int sock = -1;
  if (iface_index(env, ifname, &ifindex)) goto out;
  sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    throw_sys(env, E_OPEN, "socket(AF_INET)", errno, "cannot query interface %s", ifname);
    goto out;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strnlen(ifname, sizeof ifr.ifr_name - 1));
  if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) {
    throw_sys(env, E_IFACE, "ioctl(SIOCGIFHWADDR)", errno, "cannot read the MAC address of %s", ifname);
    goto out;
  }
  uint8_t mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(sock, SIOCGIFMTU, &ifr) < 0) {
    throw_sys(env, E_IFACE, "ioctl(SIOCGIFMTU)", errno, "cannot read the MTU of %s", ifname);
    goto out;
  }
  uint32_t mtu = (uint32_t)ifr.ifr_mtu;
  struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
  ifr.ifr_data = (void *)&ch;
  uint32_t rxq = 0, txq = 0;
  if (ioctl(sock, SIOCETHTOOL, &ifr) == 0) {
    rxq = ch.rx_count + ch.combined_count;
    txq = ch.tx_count + ch.combined_count;
  }
  napi_value obj, macv;
  if (napi_create_object(env, &obj) != napi_ok || napi_create_array_with_length(env, 6, &macv) != napi_ok) {
    throw_napi(env, "napi_create_object", napi_generic_failure);
    goto out;
  }
  for (uint32_t i = 0; i < 6; i++) napi_set_element(env, macv, i, make_u32(env, mac[i]));
  set_u32(env, obj, "ifindex", ifindex);
  napi_set_named_property(env, obj, "mac", macv);
  set_u32(env, obj, "mtu", mtu);
  set_u32(env, obj, "rxQueues", rxq);
  set_u32(env, obj, "txQueues", txq);
  result = obj;
out:
  if (sock >= 0) close(sock);
  netns_leave(&g);
  return result;
}

/* pinCpu(cpu): pins the calling thread (a worker pins itself) to one CPU. */
napi_value sys_pin_cpu(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t cpu;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &cpu) != napi_ok || cpu >= CPU_SETSIZE)
    return throw_usage(env, "pinCpu(cpu): cpu must be a CPU number");
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  /* pid 0 is the calling thread, not the whole process. */
  if (sched_setaffinity(0, sizeof set, &set) < 0)
    return throw_sys(env, E_OPEN, "sched_setaffinity", errno,
                     "cannot pin this thread to CPU %u; check the CPU exists and is allowed (nproc, taskset -p)",
                     cpu);
  return NULL;
}

/* Transparent huge pages for a large read-only table (the image): madvise(MADV_HUGEPAGE)
 * over the 2 MiB-aligned part of a Uint8Array's memory, before it is first written, so
 * that its pages fault in as huge pages where THP is "madvise". Random lookups over a
 * table of hundreds of megabytes then miss the TLB far less. An optimization only: where
 * the kernel refuses (no THP, a file mapping), 0 bytes are advised and nothing fails. */
napi_value sys_advise_huge(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type t;
  size_t n = 0;
  void *p = NULL;
  bool is_ta = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[0], &t, &n, &p, NULL, NULL) != napi_ok || t != napi_uint8_array)
    return throw_usage(env, "adviseHugePages(bytes): bytes must be a Uint8Array");
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
  if (p == NULL || end <= start || madvise((void *)start, end - start, MADV_HUGEPAGE) < 0) return make_f64(env, 0);
  return make_f64(env, (double)(end - start));
}

napi_value sys_current_cpu(napi_env env, napi_callback_info info) {
  return make_i32(env, sched_getcpu());
}

napi_value sys_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok)
    return throw_usage(env, "closeFd(fd): fd must be a number");
  if (fd >= 0 && close(fd) < 0 && errno != EINTR)
    return throw_sys(env, E_OPEN, "close", errno, "closing descriptor %d", fd);
  return NULL;
}
