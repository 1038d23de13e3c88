/* netmap-binding: module registration, errors and option readers.
 *
 * The module is context-aware (NAPI_MODULE_INIT): every worker thread loads its own
 * instance and owns the sockets and buffers it creates. Nothing here keeps global state. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static const char *errno_name(int err) {
  const char *n = strerrorname_np(err);
  return n ? n : "E?";
}

napi_value throw_sys(napi_env env, const char *code, const char *syscall, int err,
                     const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  char msg[768];
  snprintf(msg, sizeof msg, "%s failed: %s (%s): %s", syscall, strerror(err), errno_name(err), what);

  napi_value code_v, msg_v, error;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v) != napi_ok ||
      napi_create_error(env, code_v, msg_v, &error) != napi_ok) {
    napi_throw_error(env, code, msg);
    return NULL;
  }
  set_str(env, error, "syscall", syscall);
  set_str(env, error, "errnoName", errno_name(err));
  napi_value e;
  if (napi_create_int32(env, err, &e) == napi_ok) napi_set_named_property(env, error, "errno", e);
  napi_throw(env, error);
  return NULL;
}

napi_value throw_usage(napi_env env, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_type_error(env, "APPL_ERR_USAGE", msg);
  return NULL;
}

napi_value throw_napi(napi_env env, const char *call, napi_status status) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL; /* the call threw already (e.g. a getter); keep that error */
  const napi_extended_error_info *ei = NULL;
  napi_get_last_error_info(env, &ei);
  char msg[512];
  snprintf(msg, sizeof msg, "N-API call %s failed (status %d: %s)", call, (int)status,
           ei && ei->error_message ? ei->error_message : "no message");
  napi_throw_error(env, E_OPEN, msg);
  return NULL;
}

/* ---- option readers ---- */

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *v, napi_valuetype *t) {
  if (napi_get_named_property(env, obj, name, v) != napi_ok) {
    throw_napi(env, "napi_get_named_property", napi_generic_failure);
    return -1;
  }
  if (napi_typeof(env, *v, t) != napi_ok) {
    throw_napi(env, "napi_typeof", napi_generic_failure);
    return -1;
  }
  return 0;
}

static int get_number(napi_env env, napi_value obj, const char *name, double *out, int *present) {
  napi_value v;
  napi_valuetype t;
  *present = 0;
  if (get_prop(env, obj, name, &v, &t)) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (t != napi_number) {
    throw_usage(env, "option %s must be a number", name);
    return -1;
  }
  napi_get_value_double(env, v, out);
  *present = 1;
  return 0;
}

int opt_u32(napi_env env, napi_value obj, const char *name, uint32_t *out) {
  double d;
  int present;
  if (get_number(env, obj, name, &d, &present)) return -1;
  if (!present) return 0;
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    throw_usage(env, "option %s must be an integer from 0 to 2^32-1, got %g", name, d);
    return -1;
  }
  *out = (uint32_t)d;
  return 0;
}

int opt_i32(napi_env env, napi_value obj, const char *name, int32_t *out) {
  double d;
  int present;
  if (get_number(env, obj, name, &d, &present)) return -1;
  if (!present) return 0;
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(int32_t)d) {
    throw_usage(env, "option %s must be a 32-bit integer, got %g", name, d);
    return -1;
  }
  *out = (int32_t)d;
  return 0;
}

int opt_bool(napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  napi_valuetype t;
  if (get_prop(env, obj, name, &v, &t)) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (t != napi_boolean) {
    throw_usage(env, "option %s must be a boolean", name);
    return -1;
  }
  bool b;
  napi_get_value_bool(env, v, &b);
  *out = b;
  return 0;
}

int opt_str(napi_env env, napi_value obj, const char *name, char *buf, size_t size, int *present) {
  napi_value v;
  napi_valuetype t;
  *present = 0;
  buf[0] = 0;
  if (get_prop(env, obj, name, &v, &t)) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (t != napi_string) {
    throw_usage(env, "option %s must be a string", name);
    return -1;
  }
  size_t len;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len + 1 > size) {
    throw_usage(env, "option %s is too long (%zu bytes, at most %zu)", name, len, size - 1);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  *present = 1;
  return 0;
}

int opt_bytes(napi_env env, napi_value obj, const char *name, const uint8_t **data, size_t *len) {
  napi_value v;
  napi_valuetype t;
  *data = NULL;
  *len = 0;
  if (get_prop(env, obj, name, &v, &t)) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  napi_typedarray_type tt;
  size_t n;
  void *p;
  if (!is_ta || napi_get_typedarray_info(env, v, &tt, &n, &p, NULL, NULL) != napi_ok ||
      tt != napi_uint8_array) {
    throw_usage(env, "option %s must be a Uint8Array", name);
    return -1;
  }
  *data = p;
  *len = n;
  return 0;
}

int opt_u32_array(napi_env env, napi_value obj, const char *name, uint32_t *out, uint32_t max,
                  uint32_t *count) {
  napi_value v;
  napi_valuetype t;
  *count = 0;
  if (get_prop(env, obj, name, &v, &t)) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array) {
    throw_usage(env, "option %s must be an array of numbers", name);
    return -1;
  }
  uint32_t n;
  napi_get_array_length(env, v, &n);
  if (n > max) {
    throw_usage(env, "option %s has %u entries, at most %u are allowed", name, n, max);
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    double d;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_get_value_double(env, e, &d) != napi_ok ||
        !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
      throw_usage(env, "option %s[%u] must be a non-negative integer", name, i);
      return -1;
    }
    out[i] = (uint32_t)d;
  }
  *count = n;
  return 0;
}

napi_value make_u32(napi_env env, uint32_t v) {
  napi_value r = NULL;
  napi_create_uint32(env, v, &r);
  return r;
}

napi_value make_i32(napi_env env, int32_t v) {
  napi_value r = NULL;
  napi_create_int32(env, v, &r);
  return r;
}

napi_value make_f64(napi_env env, double v) {
  napi_value r = NULL;
  napi_create_double(env, v, &r);
  return r;
}

int set_u32(napi_env env, napi_value obj, const char *name, uint32_t v) {
  return napi_set_named_property(env, obj, name, make_u32(env, v)) == napi_ok ? 0 : -1;
}

int set_f64(napi_env env, napi_value obj, const char *name, double v) {
  return napi_set_named_property(env, obj, name, make_f64(env, v)) == napi_ok ? 0 : -1;
}

int set_str(napi_env env, napi_value obj, const char *name, const char *v) {
  napi_value s;
  if (napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s) != napi_ok) return -1;
  return napi_set_named_property(env, obj, name, s) == napi_ok ? 0 : -1;
}

int set_bool(napi_env env, napi_value obj, const char *name, int v) {
  napi_value b;
  if (napi_get_boolean(env, v != 0, &b) != napi_ok) return -1;
  return napi_set_named_property(env, obj, name, b) == napi_ok ? 0 : -1;
}

/* ---- registration ---- */

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
      {"ifInfo", sys_if_info},     {"pinCpu", sys_pin_cpu},   {"currentCpu", sys_current_cpu},
      {"closeFd", sys_close_fd},   {"xdpAttach", xdp_attach}, {"xskOpen", xsk_open},
      {"xskClose", xsk_close},     {"xskKick", xsk_kick},     {"xskWakeRx", xsk_wake_rx},
      {"xskWait", xsk_wait},       {"xskStats", xsk_stats},
      {"udpOpen", udp_open},       {"udpRecv", udp_recv},     {"udpSend", udp_send},
      {"adviseHugePages", sys_advise_huge},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    NAPI_CALL(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f));
    NAPI_CALL(env, napi_set_named_property(env, exports, fns[i].name, f));
  }
  set_bool(env, exports, "supported", 1);
  return exports;
}
