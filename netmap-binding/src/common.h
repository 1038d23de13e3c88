/* netmap-binding: shared declarations of the addon's C files.
 *
 * The binding is thin: system calls and memory mappings only, no packet logic. Every
 * failure throws a JS Error carrying
 *   code      a stable APPL_ERR_XDP_* code (see appliance/errors.ts),
 *   syscall   the system call that failed,
 *   errno     its errno number, errnoName its symbolic name,
 * and a message that says what to do about it. */
#ifndef NETMAP_BINDING_COMMON_H
#define NETMAP_BINDING_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <node_api.h>

/* Error codes shared with appliance/errors.ts. */
#define E_OPEN "APPL_ERR_XDP_OPEN"
#define E_PERMISSION "APPL_ERR_XDP_PERMISSION"
#define E_UNSUPPORTED "APPL_ERR_XDP_UNSUPPORTED"
#define E_IFACE "APPL_ERR_XDP_IFACE"
#define E_QUEUE "APPL_ERR_XDP_QUEUE"
#define E_UMEM "APPL_ERR_XDP_UMEM"
#define E_ATTACH "APPL_ERR_XDP_ATTACH"
#define E_BUSY "APPL_ERR_XDP_BUSY"
#define E_NATIVE "APPL_ERR_XDP_NATIVE"
#define E_NETNS "APPL_ERR_XDP_NETNS"

/* Throws an Error for a failed system call; `err` is the errno. Returns NULL so that a
 * N-API callback can `return throw_sys(...)`. */
napi_value throw_sys(napi_env env, const char *code, const char *syscall, int err,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Throws a TypeError-like usage error (bad argument from JS). */
napi_value throw_usage(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Throws for a failed N-API call itself: names the call, never asserts. */
napi_value throw_napi(napi_env env, const char *call, napi_status status);

#define NAPI_CALL(env, call)                                 \
  do {                                                       \
    napi_status status_ = (call);                            \
    if (status_ != napi_ok) return throw_napi(env, #call, status_); \
  } while (0)

/* Option readers: a missing or undefined property leaves *out at its default. They
 * return 0, or -1 with a JS exception pending. */
int opt_u32(napi_env env, napi_value obj, const char *name, uint32_t *out);
int opt_i32(napi_env env, napi_value obj, const char *name, int32_t *out);
int opt_bool(napi_env env, napi_value obj, const char *name, int *out);
/* Copies a string option into buf (NUL-terminated); *present = 0 if absent. */
int opt_str(napi_env env, napi_value obj, const char *name, char *buf, size_t size, int *present);
/* Borrows the bytes of a Uint8Array option; *len = 0 if absent. */
int opt_bytes(napi_env env, napi_value obj, const char *name, const uint8_t **data, size_t *len);
/* Reads an array of small integers (ports). At most max entries. */
int opt_u32_array(napi_env env, napi_value obj, const char *name, uint32_t *out, uint32_t max,
                  uint32_t *count);

napi_value make_u32(napi_env env, uint32_t v);
napi_value make_i32(napi_env env, int32_t v);
napi_value make_f64(napi_env env, double v);
int set_u32(napi_env env, napi_value obj, const char *name, uint32_t v);
int set_f64(napi_env env, napi_value obj, const char *name, double v);
int set_str(napi_env env, napi_value obj, const char *name, const char *v);
int set_bool(napi_env env, napi_value obj, const char *name, int v);

/* Network namespaces: the calling thread enters `path` (a file under /run/netns or
 * /proc/PID/ns/net) and comes back. Sockets keep the namespace they were created in,
 * so a socket opened inside stays there after the thread returns. */
typedef struct {
  int saved_fd; /* -1 when nothing was entered */
} netns_guard;
int netns_enter(napi_env env, const char *path, netns_guard *g); /* -1 with exception */
void netns_leave(netns_guard *g);
/* Interface index by name in the current namespace; throws APPL_ERR_XDP_IFACE. */
int iface_index(napi_env env, const char *ifname, uint32_t *ifindex);

/* Registers a socket in an XSKMAP (xdp.c); -1 with errno set. */
int xskmap_put(int map_fd, uint32_t queue, int sock_fd);

/* N-API entry points, by file. */
napi_value sys_if_info(napi_env env, napi_callback_info info);
napi_value sys_pin_cpu(napi_env env, napi_callback_info info);
napi_value sys_current_cpu(napi_env env, napi_callback_info info);
napi_value sys_advise_huge(napi_env env, napi_callback_info info);
napi_value sys_close_fd(napi_env env, napi_callback_info info);
napi_value xdp_attach(napi_env env, napi_callback_info info);
napi_value xsk_open(napi_env env, napi_callback_info info);
napi_value xsk_close(napi_env env, napi_callback_info info);
napi_value xsk_kick(napi_env env, napi_callback_info info);
napi_value xsk_wake_rx(napi_env env, napi_callback_info info);
napi_value xsk_wait(napi_env env, napi_callback_info info);
napi_value xsk_stats(napi_env env, napi_callback_info info);
napi_value udp_open(napi_env env, napi_callback_info info);
napi_value udp_recv(napi_env env, napi_callback_info info);
napi_value udp_send(napi_env env, napi_callback_info info);

#endif
