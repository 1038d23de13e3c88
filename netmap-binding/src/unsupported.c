/* Outside Linux there is no AF_XDP: the module loads and says so, and the pipe backend
 * (pure TypeScript) still works. */
#include <node_api.h>

NAPI_MODULE_INIT() {
  napi_value v;
  napi_get_boolean(env, 0, &v);
  napi_set_named_property(env, exports, "supported", v);
  return exports;
}
