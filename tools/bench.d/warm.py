# --warm-cache: keeps the files each VMM run reads (its binary and shared libraries, kernel,
# initrd, firmware) resident in the page cache with mlock, on hosts that evict file pages
# within seconds; both VMMs get the same treatment. Without it a run also times disk reads.
import ctypes
import os
import shutil
import subprocess

PROT_READ, MAP_SHARED = 1, 1
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def _libraries(binary):
    """The shared libraries binary loads (none for a static one)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return [w for line in out.splitlines() for w in line.split() if w.startswith("/")]


class Warm:
    def __init__(self):
        self.pinned = {}  # path -> (address, length)

    def pin(self, argv):
        """Pins argv's binary, its libraries and every argument naming a regular file."""
        binary = shutil.which(argv[0]) or argv[0]
        files = [binary] + _libraries(binary) + [a for a in argv[1:] if os.path.isfile(a)]
        for path in files:
            path = os.path.realpath(path)
            if path in self.pinned or not os.path.isfile(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                n = os.fstat(fd).st_size
                addr = _libc.mmap(None, n, PROT_READ, MAP_SHARED, fd, 0) if n else None
            finally:
                os.close(fd)
            if not addr or addr == ctypes.c_void_p(-1).value:
                continue
            if _libc.mlock(addr, n) != 0:
                _libc.munmap(addr, n)
                raise OSError(ctypes.get_errno(), f"--warm-cache: mlock {path}")
            self.pinned[path] = (addr, n)

    def note(self):
        mib = sum(n for _, n in self.pinned.values()) / (1 << 20)
        return (f"--warm-cache: {len(self.pinned)} files ({mib:.1f} MiB: VMM binaries, libraries, "
                "kernel, initrd) kept in the page cache with mlock")

    def close(self):
        for addr, n in self.pinned.values():
            _libc.munmap(addr, n)
        self.pinned = {}
