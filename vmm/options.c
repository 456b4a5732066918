/*
 * Command-line parsing for minivmm: one table of options, one checked parser
 * per kind of value, and error messages that name the option and the value.
 * Both "--opt value" and "--opt=value" are accepted.
 */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/un.h>

struct opt {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* NULL: a flag that takes no value */
    int (*set)(struct options *o, const char *name, const char *val, char *err, size_t errlen);
};

__attribute__((format(printf, 5, 6))) static int opt_bad(char *err, size_t errlen, const char *name,
                                                         const char *val, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "--%s '%s': %s", name, val, reason);
    return -EINVAL;
}

/*
 * A plain unsigned decimal: no sign, no spaces, no base prefix. Sets *end past the
 * digits, also on -ERANGE, so callers can still check what follows.
 */
static int opt_parse_u64(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    int ret = 0;

    *end = s;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned int d = (unsigned int)(*s - '0');

        if (v > (UINT64_MAX - d) / 10)
            ret = -ERANGE;
        else
            v = v * 10 + d;
    }
    *out = v;
    *end = s;
    return ret;
}

static int opt_parse_uint(const char *name, const char *val, unsigned int min, unsigned int max,
                          unsigned int *out, char *err, size_t errlen)
{
    const char *end;
    uint64_t v = 0;
    int ret = opt_parse_u64(val, &v, &end);

    if (ret == -EINVAL || *end != '\0')
        return opt_bad(err, errlen, name, val, "not a whole number");
    if (ret == -ERANGE || v < min || v > max)
        return opt_bad(err, errlen, name, val, "must be between %u and %u", min, max);
    *out = (unsigned int)v;
    return 0;
}

static int opt_nonempty(const char *name, const char *val, char *err, size_t errlen)
{
    if (*val == '\0')
        return opt_bad(err, errlen, name, val, "must not be empty");
    return 0;
}

static bool opt_word_is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && strncmp(s, word, len) == 0;
}

/* SIZE: digits and one of K, M, G, T (powers of 1024); a bare number means MiB, as in QEMU's -m. */
static int opt_parse_size(const char *name, const char *val, const char *size, uint64_t *out,
                          char *err, size_t errlen)
{
    const char *end;
    uint64_t v = 0, unit;
    int ret = opt_parse_u64(size, &v, &end);

    if (ret == -EINVAL)
        return opt_bad(err, errlen, name, val, "size must start with a number");
    switch (toupper((unsigned char)*end)) {
    case '\0':
    case 'M':
        unit = 1ULL << 20;
        break;
    case 'K':
        unit = 1ULL << 10;
        break;
    case 'G':
        unit = 1ULL << 30;
        break;
    case 'T':
        unit = 1ULL << 40;
        break;
    default:
        return opt_bad(err, errlen, name, val, "unknown size suffix '%.1s' (use K, M, G or T)",
                       end);
    }
    if (*end != '\0' && end[1] != '\0')
        return opt_bad(err, errlen, name, val, "unexpected '%s' after the size (use K, M, G or T)",
                       end + 1);
    if (ret == -ERANGE || v > OPTIONS_MEMORY_MAX / unit)
        return opt_bad(err, errlen, name, val, "too large (maximum 1T)");
    *out = v * unit;
    return 0;
}

static int opt_memory(struct options *o, const char *name, const char *val, char *err,
                      size_t errlen)
{
    char size[64];
    const char *comma = strchr(val, ',');
    size_t n = comma ? (size_t)(comma - val) : strlen(val);
    bool huge = false;
    uint64_t bytes = 0;

    if (n >= sizeof(size))
        return opt_bad(err, errlen, name, val, "size too long");
    memcpy(size, val, n);
    size[n] = '\0';
    for (const char *p = comma; p; p = strchr(p + 1, ',')) {
        const char *sub = p + 1;
        size_t len = strcspn(sub, ",");

        if (opt_word_is(sub, len, "hugepages=on"))
            huge = true;
        else if (opt_word_is(sub, len, "hugepages=off"))
            huge = false;
        else
            return opt_bad(err, errlen, name, val,
                           "unknown setting '%.*s' (expected hugepages=on|off)", (int)len, sub);
    }
    if (opt_parse_size(name, val, size, &bytes, err, errlen) < 0)
        return -EINVAL;
    if (bytes < OPTIONS_MEMORY_MIN)
        return opt_bad(err, errlen, name, val, "must be at least 2M");
    if (bytes % OPTIONS_MEMORY_ALIGN)
        return opt_bad(err, errlen, name, val, "must be a multiple of 4K");
    if (huge && bytes % OPTIONS_HUGEPAGE_SIZE)
        return opt_bad(err, errlen, name, val, "must be a multiple of 2M with hugepages=on");
    o->memory = bytes;
    o->hugepages = huge;
    return 0;
}

static int opt_cpus(struct options *o, const char *name, const char *val, char *err, size_t errlen)
{
    return opt_parse_uint(name, val, 1, OPTIONS_CPUS_MAX, &o->cpus, err, errlen);
}

static int opt_timeout(struct options *o, const char *name, const char *val, char *err,
                       size_t errlen)
{
    return opt_parse_uint(name, val, 0, OPTIONS_TIMEOUT_MAX, &o->timeout, err, errlen);
}

/* One word of an option that takes one of a few words, and what it sets. */
struct opt_word {
    const char *word;
    int value;
};

/*
 * Sets *out to the value of the word val names; otherwise "expected a, b or c", the words
 * in the table's order.
 */
static int opt_choose(const char *name, const char *val, const struct opt_word *words, size_t n,
                      int *out, char *err, size_t errlen)
{
    char expected[128] = "expected";
    size_t len = strlen(expected);

    for (size_t i = 0; i < n; i++) {
        if (!strcmp(val, words[i].word)) {
            *out = words[i].value;
            return 0;
        }
    }
    for (size_t i = 0; i < n && len < sizeof(expected); i++)
        len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s",
                                i == 0       ? " "
                                : i + 1 == n ? " or "
                                             : ", ",
                                words[i].word);
    return opt_bad(err, errlen, name, val, "%s", expected);
}

#define OPT_CHOOSE(name, val, words, field, err, errlen)                                           \
    opt_choose(name, val, words, sizeof(words) / sizeof(words[0]), &(field), err, errlen)

static int opt_cpu_model(struct options *o, const char *name, const char *val, char *err,
                         size_t errlen)
{
    static const struct opt_word words[] = {
        {"host", OPTIONS_CPU_HOST}, {"baseline", OPTIONS_CPU_BASELINE}, {"auto", OPTIONS_CPU_AUTO}};
    int v, ret = OPT_CHOOSE(name, val, words, v, err, errlen);

    if (ret == 0)
        o->cpu_model = (enum options_cpu_model)v;
    return ret;
}

static int opt_boot_entry(struct options *o, const char *name, const char *val, char *err,
                          size_t errlen)
{
    static const struct opt_word words[] = {{"auto", OPTIONS_BOOT_ENTRY_AUTO},
                                            {"pvh32", OPTIONS_BOOT_ENTRY_PVH32},
                                            {"pvh64", OPTIONS_BOOT_ENTRY_PVH64},
                                            {"linux64", OPTIONS_BOOT_ENTRY_LINUX64}};
    int v, ret = OPT_CHOOSE(name, val, words, v, err, errlen);

    if (ret == 0)
        o->boot_entry = (enum options_boot_entry)v;
    return ret;
}

static int opt_serial(struct options *o, const char *name, const char *val, char *err,
                      size_t errlen)
{
    if (!strcmp(val, "stdio")) {
        o->serial = OPTIONS_SERIAL_STDIO;
    } else if (!strcmp(val, "none")) {
        o->serial = OPTIONS_SERIAL_NONE;
    } else if (!strncmp(val, "file:", 5)) {
        if (val[5] == '\0')
            return opt_bad(err, errlen, name, val, "file: needs a path");
        o->serial = OPTIONS_SERIAL_FILE;
        o->serial_path = val + 5;
        return 0;
    } else {
        return opt_bad(err, errlen, name, val, "expected stdio, file:PATH or none");
    }
    o->serial_path = NULL;
    return 0;
}

static int opt_log_level(struct options *o, const char *name, const char *val, char *err,
                         size_t errlen)
{
    static const struct opt_word words[] = {
        {"error", LOG_ERROR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
    int v, ret = OPT_CHOOSE(name, val, words, v, err, errlen);

    if (ret == 0)
        o->log_level = (enum log_level)v;
    return ret;
}

static int opt_device(struct options *o, const char *name, const char *val, char *err,
                      size_t errlen)
{
    if (opt_nonempty(name, val, err, errlen) < 0)
        return -EINVAL;
    if (o->ndevices == OPTIONS_DEVICES_MAX)
        return opt_bad(err, errlen, name, val, "at most %d devices", OPTIONS_DEVICES_MAX);
    o->devices[o->ndevices++] = val;
    return 0;
}

static int opt_trace(struct options *o, const char *name, const char *val, char *err, size_t errlen)
{
    if (opt_nonempty(name, val, err, errlen) < 0)
        return -EINVAL;
    if (o->ntraces == OPTIONS_TRACES_MAX)
        return opt_bad(err, errlen, name, val, "at most %d traces", OPTIONS_TRACES_MAX);
    o->traces[o->ntraces++] = val;
    return 0;
}

static int opt_api_socket(struct options *o, const char *name, const char *val, char *err,
                          size_t errlen)
{
    size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;

    if (opt_nonempty(name, val, err, errlen) < 0)
        return -EINVAL;
    if (strlen(val) > max)
        return opt_bad(err, errlen, name, val, "longer than a unix socket path can be (%zu)", max);
    o->api_socket = val;
    return 0;
}

/* Options whose value is a string stored as given (non-empty unless noted). */
static int opt_string(struct options *o, const char *name, const char *val, char *err,
                      size_t errlen)
{
    if (!strcmp(name, "cmdline")) {
        o->cmdline = val; /* may be empty */
        return 0;
    }
    if (opt_nonempty(name, val, err, errlen) < 0)
        return -EINVAL;
    if (!strcmp(name, "kernel"))
        o->kernel = val;
    else if (!strcmp(name, "initrd"))
        o->initrd = val;
    else if (!strcmp(name, "incoming"))
        o->incoming = val;
    else
        o->dump_dtb = val;
    return 0;
}
static int opt_kernel_load(struct options *o, const char *name, const char *val, char *err,
                           size_t errlen)
{
    static const struct opt_word words[] = {{"auto", OPTIONS_KERNEL_LOAD_AUTO},
                                            {"copy", OPTIONS_KERNEL_LOAD_COPY},
                                            {"stream", OPTIONS_KERNEL_LOAD_STREAM}};
    int v, ret = OPT_CHOOSE(name, val, words, v, err, errlen);

    if (ret == 0)
        o->kernel_load = (enum options_kernel_load)v;
    return ret;
}

static int opt_flag(struct options *o, const char *name, const char *val, char *err, size_t errlen)
{
    if (!strcmp(name, "help"))
        return OPTIONS_HELP;
    if (!strcmp(name, "version"))
        return OPTIONS_VERSION;
    o->print_firmware_path = true;
    return 0;
}

static const struct opt opt_table[] = {
    {"kernel", "PATH", opt_string},
    {"initrd", "PATH", opt_string},
    {"cmdline", "STR", opt_string},
    {"memory", "SIZE[,hugepages=on|off]", opt_memory},
    {"cpus", "N", opt_cpus},
    {"cpu-model", "host|baseline|auto", opt_cpu_model},
    {"boot-entry", "auto|pvh32|pvh64|linux64", opt_boot_entry},
    {"kernel-load", "auto|copy|stream", opt_kernel_load},
    {"serial", "stdio|file:PATH|none", opt_serial},
    {"device", "SPEC", opt_device},
    {"trace", "SPEC", opt_trace},
    {"api-socket", "PATH", opt_api_socket},
    {"incoming", "URI", opt_string},
    {"dump-dtb", "PATH", opt_string},
    {"print-firmware-path", NULL, opt_flag},
    {"log-level", "error|warn|info|debug", opt_log_level},
    {"timeout", "SECONDS", opt_timeout},
    {"help", NULL, opt_flag},
    {"version", NULL, opt_flag},
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))

/* Finds "--name" or "--name=value" (namelen excludes "=value"). */
static const struct opt *opt_find(const char *arg, size_t namelen)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    for (size_t i = 0; i < OPT_COUNT; i++) {
        if (strlen(opt_table[i].name) == namelen - 2 &&
            !strncmp(arg + 2, opt_table[i].name, namelen - 2))
            return &opt_table[i];
    }
    return NULL;
}

static void options_defaults(struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->memory = OPTIONS_MEMORY_DEFAULT;
    o->cpus = 1;
    o->cpu_model = OPTIONS_CPU_AUTO;
    o->boot_entry = OPTIONS_BOOT_ENTRY_AUTO;
    o->serial = OPTIONS_SERIAL_STDIO;
    o->log_level = LOG_INFO;
}

int options_parse(int argc, char **argv, struct options *out, char *err, size_t errlen)
{
    options_defaults(out);
    if (errlen > 0)
        err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct opt *opt = opt_find(arg, namelen);
        const char *val = NULL;
        int ret;

        if (!strcmp(arg, "-h"))
            return OPTIONS_HELP;
        if (!opt && !strncmp(arg, "-", 1)) {
            snprintf(err, errlen, "unknown option '%.*s' (see --help)", (int)namelen, arg);
            return -EINVAL;
        }
        if (!opt) {
            snprintf(err, errlen, "unexpected argument '%s' (options start with --)", arg);
            return -EINVAL;
        }
        if (!opt->metavar && eq) {
            snprintf(err, errlen, "--%s takes no value", opt->name);
            return -EINVAL;
        }
        if (opt->metavar && eq) {
            val = eq + 1;
        } else if (opt->metavar) {
            /* A following option is a forgotten value, not the value (use --opt=--x for that). */
            const char *next = i + 1 < argc ? argv[i + 1] : NULL;

            if (!next || opt_find(next, strcspn(next, "="))) {
                snprintf(err, errlen, "--%s needs a value: --%s %s", opt->name, opt->name,
                         opt->metavar);
                return -EINVAL;
            }
            val = argv[++i];
        }
        ret = opt->set(out, opt->name, val, err, errlen);
        if (ret != 0)
            return ret;
    }
    if (!out->kernel && !out->print_firmware_path) {
        snprintf(err, errlen, "missing --kernel PATH (see --help)");
        return -EINVAL;
    }
    return 0;
}

void options_free(struct options *opts)
{
    if (opts)
        memset(opts, 0, sizeof(*opts));
}

void options_usage(FILE *f)
{
    fputs("Usage: minivmm --kernel PATH [OPTIONS]\n"
          "Boots a Linux kernel (bzImage, or an ELF with a PVH note) in a KVM virtual machine.\n"
          "\n"
          "  --kernel PATH             guest kernel or firmware (required)\n"
          "  --initrd PATH             initial ramdisk\n"
          "  --cmdline STR             appended to the kernel command line minivmm generates\n"
          "  --memory SIZE[,hugepages=on|off]\n"
          "                            guest RAM (default 256M); SIZE is a number with K, M,\n"
          "                            G or T (powers of 1024; a bare number means M),\n"
          "                            2M..1T, a multiple of 4K (of 2M with hugepages=on)\n"
          "  --cpus N                  virtual CPUs, 1..64 (default 1)\n"
          "  --cpu-model MODEL         host, baseline or auto (default auto: baseline on PVM\n"
          "                            hosts, host otherwise)\n"
          "  --boot-entry ENTRY        auto, pvh32, pvh64 or linux64 (default auto); a PVH ELF\n"
          "                            is entered at its 32-bit PVH entry (pvh32, auto) or at\n"
          "                            its ELF entry in 64-bit mode (pvh64, e.g. the test\n"
          "                            firmware); a bzImage with an lz4 or uncompressed\n"
          "                            payload is unpacked on the host and its vmlinux entered\n"
          "                            through PVH (auto), else at the bzImage's 64-bit entry,\n"
          "                            its decompressor running in the guest (linux64)\n"
          "  --kernel-load MODE        auto, copy or stream (default auto): stream writes the\n"
          "                            kernel and initrd into guest RAM while the vCPUs\n"
          "                            already run (userfaultfd makes an access wait for its\n"
          "                            page); copy writes them before the first KVM_RUN;\n"
          "                            auto streams images of 1 MiB or more when it can\n"
          "  --serial MODE             console UART: stdio, file:PATH or none (default stdio)\n"
          "  --device SPEC             add a device (repeatable)\n"
          "  --trace SPEC              trace a subsystem, e.g. vhost-user,file=PATH (repeatable)\n"
          "  --api-socket PATH         listen for control commands on a unix socket\n"
          "  --incoming URI            start from a migrated VM instead of booting\n"
          "  --dump-dtb PATH           write the generated device tree to PATH\n"
          "  --print-firmware-path     print where the test firmware is installed and exit\n"
          "  --log-level LEVEL         error, warn, info or debug (default info)\n"
          "  --timeout SECONDS         end the VM with an error after this long (0: never)\n"
          "  -h, --help                show this help and exit\n"
          "  --version                 show the version and exit\n"
          "\n"
          "Values go after the option or after '=' (--cpus 2, --cpus=2); a value that starts\n"
          "like an option needs the '=' form (--cmdline=--foo).\n"
          "Exit status: 0 when the guest powers off or reboots, non-zero with a one-line\n"
          "reason on stderr otherwise.\n",
          f);
}
