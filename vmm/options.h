/*
 * The minivmm command line: parsed into plain data, validated, never exits or
 * prints (main() decides). Strings point into argv, which must outlive the
 * options. The option names are a stable interface (README, tests, tools).
 */
#ifndef MINIVMM_OPTIONS_H
#define MINIVMM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

/* Positive results of options_parse: print and exit 0, do not run a VM. */
#define OPTIONS_HELP    1
#define OPTIONS_VERSION 2

#define OPTIONS_MEMORY_DEFAULT (256ULL << 20)
#define OPTIONS_MEMORY_MIN     (2ULL << 20)
#define OPTIONS_MEMORY_MAX     (1ULL << 40)
#define OPTIONS_MEMORY_ALIGN   (4ULL << 10) /* a page */
#define OPTIONS_HUGEPAGE_SIZE  (2ULL << 20)
#define OPTIONS_CPUS_MAX       64
#define OPTIONS_DEVICES_MAX    32
#define OPTIONS_TRACES_MAX     16
#define OPTIONS_TIMEOUT_MAX    (365U * 24 * 3600) /* seconds */

enum options_cpu_model {
    OPTIONS_CPU_AUTO,     /* baseline on PVM, host otherwise: the machine decides */
    OPTIONS_CPU_HOST,     /* everything KVM supports */
    OPTIONS_CPU_BASELINE, /* features the PVM emulator handles */
};

/* How the kernel is entered. */
enum options_boot_entry {
    OPTIONS_BOOT_ENTRY_AUTO,    /* ELF: 32-bit PVH; bzImage: its vmlinux unpacked, else linux64 */
    OPTIONS_BOOT_ENTRY_PVH32,   /* the PVH entry (XEN_ELFNOTE_PHYS32_ENTRY), paging off */
    OPTIONS_BOOT_ENTRY_PVH64,   /* the ELF e_entry in long mode (boot_config.pvh_entry64) */
    OPTIONS_BOOT_ENTRY_LINUX64, /* a bzImage's 64-bit entry: the guest decompresses it */
};

/* How the kernel and initrd get into guest RAM (kload.h). */
enum options_kernel_load {
    OPTIONS_KERNEL_LOAD_AUTO,   /* streamed while the vCPUs run when possible, else copied */
    OPTIONS_KERNEL_LOAD_COPY,   /* copied before the first KVM_RUN */
    OPTIONS_KERNEL_LOAD_STREAM, /* streamed, or fail saying why not */
};

enum options_serial {
    OPTIONS_SERIAL_STDIO,
    OPTIONS_SERIAL_FILE, /* serial_path */
    OPTIONS_SERIAL_NONE,
};

struct options {
    const char *kernel;  /* NULL only when print_firmware_path is set */
    const char *initrd;  /* NULL: none */
    const char *cmdline; /* appended to the generated command line; NULL: nothing */
    uint64_t memory;     /* bytes: a multiple of 4 KiB (of 2 MiB with hugepages) */
    bool hugepages;
    unsigned int cpus; /* 1..OPTIONS_CPUS_MAX */
    enum options_cpu_model cpu_model;
    enum options_boot_entry boot_entry; /* pvh32/pvh64 need a PVH image (checked at load) */
    enum options_kernel_load kernel_load;
    enum options_serial serial;
    const char *serial_path;
    /* --device and --trace specs, raw and in command-line order (parsed by their layers). */
    const char *devices[OPTIONS_DEVICES_MAX];
    unsigned int ndevices;
    const char *traces[OPTIONS_TRACES_MAX];
    unsigned int ntraces;
    const char *api_socket; /* NULL: no control socket */
    const char *incoming;   /* NULL: a fresh boot */
    const char *dump_dtb;   /* NULL: no dump */
    bool print_firmware_path;
    enum log_level log_level;
    unsigned int timeout; /* seconds; 0: no watchdog */
};

/*
 * Parses argv[1..argc-1] into *out (defaults first). Returns 0 to run, OPTIONS_HELP
 * or OPTIONS_VERSION, or -EINVAL with a one-line reason in err naming the option and
 * value (e.g. "--memory '1Z': unknown size suffix 'Z' (use K, M, G or T)").
 */
MUST_CHECK int options_parse(int argc, char **argv, struct options *out, char *err, size_t errlen);
void options_usage(FILE *f);
/* Releases what options_parse allocated (nothing today; kept for callers' symmetry). */
void options_free(struct options *opts);

#endif
