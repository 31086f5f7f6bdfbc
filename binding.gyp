{
  "targets": [
    {
      "target_name": "memmap",
      "sources": ["native/binding.c", "native/region.c", "native/reclaim.c", "native/copy.c", "native/async.c", "native/loss.c", "native/residency.c", "native/tags.c", "native/guard.c", "native/search.c", "native/text.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='win'", {"sources": ["native/posix.c", "native/fault.c"]}],
        ["OS=='win'", {"sources": ["native/win32.c", "native/win32-system.c", "native/fault-win32.c"]}],
        ["OS=='linux'", {"sources": ["native/linux.c"], "ldflags": ["-Wl,-z,nodelete"]}],
        ["OS!='win'", {"sources": ["native/wait.c", "native/wait-posix.c"]}],
        ["OS=='linux'", {"sources": ["native/wait-linux.c"]}],
        ["OS=='mac'", {"sources": ["native/wait-darwin.c"]}],
        ["OS=='win'", {"sources": ["native/wait.c", "native/wait-win32.c"]}],
        ["OS=='mac'", {"sources": ["native/darwin.c"]}]
      ]
    }
  ]
}
