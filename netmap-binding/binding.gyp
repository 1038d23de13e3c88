# Built by the root package's "install" script (npm ci) and by `npm run build:native`:
#   node-gyp rebuild -C netmap-binding
# Plain C, raw system calls only: no libbpf, no libxdp, nothing to download.
{
  "targets": [
    {
      "target_name": "netmap_binding",
      "sources": ["src/addon.c", "src/xsk.c", "src/xdp.c", "src/sys.c", "src/udp.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["src/addon.c", "src/xsk.c", "src/xdp.c", "src/sys.c", "src/udp.c"], "sources": ["src/unsupported.c"] }]
      ]
    }
  ]
}
