/*
 * Unit tests for vmm/options.c: every option in both forms, the defaults, and
 * the exact one-line message for each bad value.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

static struct options opts;
static char err[512];

/* Parses a NULL-terminated list of arguments (argv[0] is added). */
#define PARSE(...) parse((const char *[]){"minivmm", __VA_ARGS__, NULL})

static int parse(const char **args)
{
    int argc = 0;

    while (args[argc])
        argc++;
    memset(err, 'x', sizeof(err));
    return options_parse(argc, (char **)args, &opts, err, sizeof(err));
}

static void fini(void)
{
    options_free(&opts);
}

static void expect_error(const char *want, const char **args)
{
    cr_assert_eq(parse(args), -EINVAL, "expected an error for %s", args[1]);
    cr_assert_str_eq(err, want);
    cr_assert_null(strchr(err, '\n'), "one line");
}

#define EXPECT_ERROR(want, ...) expect_error(want, (const char *[]){"minivmm", __VA_ARGS__, NULL})

TestSuite(options, .fini = fini);

Test(options, defaults)
{
    cr_assert_eq(PARSE("--kernel", "bzImage"), 0);
    cr_assert_str_eq(err, "");
    cr_assert_str_eq(opts.kernel, "bzImage");
    cr_assert_null(opts.initrd);
    cr_assert_null(opts.cmdline);
    cr_assert_eq(opts.memory, 256ULL << 20);
    cr_assert_not(opts.hugepages);
    cr_assert_eq(opts.cpus, 1);
    cr_assert_eq(opts.cpu_model, OPTIONS_CPU_AUTO);
    cr_assert_eq(opts.boot_entry, OPTIONS_BOOT_ENTRY_AUTO);
    cr_assert_eq(opts.kernel_load, OPTIONS_KERNEL_LOAD_AUTO);
    cr_assert_eq(opts.serial, OPTIONS_SERIAL_STDIO);
    cr_assert_null(opts.serial_path);
    cr_assert_eq(opts.ndevices, 0);
    cr_assert_eq(opts.ntraces, 0);
    cr_assert_null(opts.api_socket);
    cr_assert_null(opts.incoming);
    cr_assert_null(opts.dump_dtb);
    cr_assert_not(opts.print_firmware_path);
    cr_assert_eq(opts.log_level, LOG_INFO);
    cr_assert_eq(opts.timeout, 0);
}

Test(options, every_option_separate_form)
{
    cr_assert_eq(PARSE("--kernel", "k", "--initrd", "i", "--cmdline", "quiet lpj=1", "--memory",
                       "1G,hugepages=on", "--cpus", "2", "--cpu-model", "baseline", "--boot-entry",
                       "pvh64", "--serial", "file:/tmp/out", "--device", "vhost-user-blk,socket=/s",
                       "--device", "vhost-user-net,socket=/n", "--trace", "vhost-user",
                       "--api-socket", "/tmp/api", "--incoming", "unix:/tmp/m", "--dump-dtb",
                       "/tmp/dtb", "--log-level", "debug", "--timeout", "600"),
                 0, "%s", err);
    cr_assert_str_eq(opts.kernel, "k");
    cr_assert_str_eq(opts.initrd, "i");
    cr_assert_str_eq(opts.cmdline, "quiet lpj=1");
    cr_assert_eq(opts.memory, 1ULL << 30);
    cr_assert(opts.hugepages);
    cr_assert_eq(opts.cpus, 2);
    cr_assert_eq(opts.cpu_model, OPTIONS_CPU_BASELINE);
    cr_assert_eq(opts.boot_entry, OPTIONS_BOOT_ENTRY_PVH64);
    cr_assert_eq(opts.serial, OPTIONS_SERIAL_FILE);
    cr_assert_str_eq(opts.serial_path, "/tmp/out");
    cr_assert_eq(opts.ndevices, 2);
    cr_assert_str_eq(opts.devices[0], "vhost-user-blk,socket=/s");
    cr_assert_str_eq(opts.devices[1], "vhost-user-net,socket=/n");
    cr_assert_eq(opts.ntraces, 1);
    cr_assert_str_eq(opts.traces[0], "vhost-user");
    cr_assert_str_eq(opts.api_socket, "/tmp/api");
    cr_assert_str_eq(opts.incoming, "unix:/tmp/m");
    cr_assert_str_eq(opts.dump_dtb, "/tmp/dtb");
    cr_assert_eq(opts.log_level, LOG_DEBUG);
    cr_assert_eq(opts.timeout, 600);
}

Test(options, every_option_equals_form)
{
    cr_assert_eq(PARSE("--kernel=k", "--initrd=i", "--cmdline=a=b c", "--memory=64M", "--cpus=64",
                       "--cpu-model=host", "--boot-entry=pvh32", "--serial=none", "--device=d",
                       "--trace=vhost-user,file=/t", "--trace=t2", "--api-socket=/a",
                       "--incoming=u", "--dump-dtb=/d", "--log-level=warn", "--timeout=0"),
                 0, "%s", err);
    cr_assert_str_eq(opts.kernel, "k");
    cr_assert_str_eq(opts.initrd, "i");
    cr_assert_str_eq(opts.cmdline, "a=b c", "only the first '=' splits");
    cr_assert_eq(opts.memory, 64ULL << 20);
    cr_assert_eq(opts.cpus, 64);
    cr_assert_eq(opts.cpu_model, OPTIONS_CPU_HOST);
    cr_assert_eq(opts.boot_entry, OPTIONS_BOOT_ENTRY_PVH32);
    cr_assert_eq(opts.serial, OPTIONS_SERIAL_NONE);
    cr_assert_str_eq(opts.devices[0], "d");
    cr_assert_eq(opts.ntraces, 2);
    cr_assert_str_eq(opts.traces[0], "vhost-user,file=/t");
    cr_assert_str_eq(opts.api_socket, "/a");
    cr_assert_str_eq(opts.incoming, "u");
    cr_assert_str_eq(opts.dump_dtb, "/d");
    cr_assert_eq(opts.log_level, LOG_WARN);
    cr_assert_eq(opts.timeout, 0);
}

Test(options, remaining_enum_values)
{
    cr_assert_eq(
        PARSE("--kernel", "k", "--cpu-model", "auto", "--serial", "stdio", "--log-level", "error"),
        0);
    cr_assert_eq(opts.cpu_model, OPTIONS_CPU_AUTO);
    cr_assert_eq(opts.serial, OPTIONS_SERIAL_STDIO);
    cr_assert_eq(opts.log_level, LOG_ERROR);
    cr_assert_eq(PARSE("--kernel", "k", "--log-level", "info"), 0);
    cr_assert_eq(opts.log_level, LOG_INFO);
    cr_assert_eq(PARSE("--kernel", "k", "--boot-entry", "pvh64", "--boot-entry", "auto"), 0);
    cr_assert_eq(opts.boot_entry, OPTIONS_BOOT_ENTRY_AUTO, "the last value wins");
    cr_assert_eq(PARSE("--kernel", "k", "--boot-entry", "linux64"), 0);
    cr_assert_eq(opts.boot_entry, OPTIONS_BOOT_ENTRY_LINUX64);
    cr_assert_eq(PARSE("--kernel", "k", "--kernel-load", "copy"), 0);
    cr_assert_eq(opts.kernel_load, OPTIONS_KERNEL_LOAD_COPY);
    cr_assert_eq(PARSE("--kernel", "k", "--kernel-load=stream"), 0);
    cr_assert_eq(opts.kernel_load, OPTIONS_KERNEL_LOAD_STREAM);
    cr_assert_eq(PARSE("--kernel", "k", "--kernel-load", "stream", "--kernel-load", "auto"), 0);
    cr_assert_eq(opts.kernel_load, OPTIONS_KERNEL_LOAD_AUTO);
}

Test(options, memory_sizes)
{
    static const struct {
        const char *arg;
        unsigned long long bytes;
    } ok[] = {
        {"2M", 2ULL << 20}, {"256", 256ULL << 20}, {"4096K", 4ULL << 20},    {"1g", 1ULL << 30},
        {"3G", 3ULL << 30}, {"1T", 1ULL << 40},    {"2052K", 2052ULL << 10}, {"16m", 16ULL << 20},
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(PARSE("--kernel", "k", "--memory", ok[i].arg), 0, "%s: %s", ok[i].arg, err);
        cr_assert_eq(opts.memory, ok[i].bytes, "%s", ok[i].arg);
    }
    cr_assert_eq(PARSE("--kernel", "k", "--memory", "4G,hugepages=off"), 0);
    cr_assert_not(opts.hugepages);
}

Test(options, help_version_and_firmware_path_need_no_kernel)
{
    cr_assert_eq(PARSE("--help"), OPTIONS_HELP);
    cr_assert_eq(PARSE("-h"), OPTIONS_HELP);
    cr_assert_eq(PARSE("--cpus", "2", "--help"), OPTIONS_HELP);
    cr_assert_eq(PARSE("--version"), OPTIONS_VERSION);
    cr_assert_eq(PARSE("--print-firmware-path"), 0);
    cr_assert(opts.print_firmware_path);
    cr_assert_null(opts.kernel);
}

Test(options, last_value_wins_and_cmdline_may_be_empty)
{
    cr_assert_eq(PARSE("--kernel", "a", "--kernel", "b", "--cmdline="), 0);
    cr_assert_str_eq(opts.kernel, "b");
    cr_assert_str_eq(opts.cmdline, "");
    cr_assert_eq(PARSE("--kernel", "k", "--serial", "file:x", "--serial", "none"), 0);
    cr_assert_null(opts.serial_path);
}

Test(options, values_that_look_like_options)
{
    cr_assert_eq(PARSE("--kernel", "k", "--cmdline=--weird"), 0);
    cr_assert_str_eq(opts.cmdline, "--weird");
    cr_assert_eq(PARSE("--kernel", "k", "--cmdline", "-v"), 0, "a single dash is a value");
    cr_assert_str_eq(opts.cmdline, "-v");
}

Test(options, bad_memory)
{
    EXPECT_ERROR("--memory '0': must be at least 2M", "--kernel", "k", "--memory", "0");
    EXPECT_ERROR("--memory '1Z': unknown size suffix 'Z' (use K, M, G or T)", "--kernel", "k",
                 "--memory", "1Z");
    EXPECT_ERROR("--memory '99999999G': too large (maximum 1T)", "--kernel", "k", "--memory",
                 "99999999G");
    EXPECT_ERROR("--memory '99999999999999999999': too large (maximum 1T)", "--kernel", "k",
                 "--memory", "99999999999999999999");
    EXPECT_ERROR("--memory '2T': too large (maximum 1T)", "--memory", "2T");
    EXPECT_ERROR("--memory '1M': must be at least 2M", "--memory", "1M");
    EXPECT_ERROR("--memory '4097K': must be a multiple of 4K", "--memory", "4097K");
    EXPECT_ERROR("--memory '3K': must be at least 2M", "--memory", "3K");
    EXPECT_ERROR("--memory 'M': size must start with a number", "--memory", "M");
    EXPECT_ERROR("--memory '': size must start with a number", "--memory=");
    EXPECT_ERROR("--memory '-1G': size must start with a number", "--memory=-1G");
    EXPECT_ERROR("--memory '1.5G': unknown size suffix '.' (use K, M, G or T)", "--memory", "1.5G");
    EXPECT_ERROR("--memory '1GB': unexpected 'B' after the size (use K, M, G or T)", "--memory",
                 "1GB");
    EXPECT_ERROR("--memory '3M,hugepages=on': must be a multiple of 2M with hugepages=on",
                 "--memory", "3M,hugepages=on");
    EXPECT_ERROR("--memory '1G,hugepages=yes': unknown setting 'hugepages=yes' (expected "
                 "hugepages=on|off)",
                 "--memory", "1G,hugepages=yes");
    EXPECT_ERROR("--memory '1G,': unknown setting '' (expected hugepages=on|off)", "--memory",
                 "1G,");
}

Test(options, bad_cpus)
{
    EXPECT_ERROR("--cpus '0': must be between 1 and 64", "--kernel", "k", "--cpus", "0");
    EXPECT_ERROR("--cpus '65': must be between 1 and 64", "--cpus", "65");
    EXPECT_ERROR("--cpus '99999999999999999999999': must be between 1 and 64", "--cpus",
                 "99999999999999999999999");
    EXPECT_ERROR("--cpus 'x': not a whole number", "--kernel", "k", "--cpus", "x");
    EXPECT_ERROR("--cpus '2x': not a whole number", "--cpus", "2x");
    EXPECT_ERROR("--cpus '-1': not a whole number", "--cpus=-1");
    EXPECT_ERROR("--cpus ' 2': not a whole number", "--cpus", " 2");
    EXPECT_ERROR("--cpus '': not a whole number", "--cpus=");
}

Test(options, bad_enums)
{
    EXPECT_ERROR("--serial 'bogus': expected stdio, file:PATH or none", "--kernel", "k", "--serial",
                 "bogus");
    EXPECT_ERROR("--serial 'file:': file: needs a path", "--serial", "file:");
    EXPECT_ERROR("--cpu-model 'foo': expected host, baseline or auto", "--kernel", "k",
                 "--cpu-model", "foo");
    EXPECT_ERROR("--log-level 'loud': expected error, warn, info or debug", "--log-level", "loud");
    EXPECT_ERROR("--boot-entry 'pvh': expected auto, pvh32, pvh64 or linux64", "--kernel", "k",
                 "--boot-entry", "pvh");
    EXPECT_ERROR("--boot-entry 'PVH64': expected auto, pvh32, pvh64 or linux64", "--boot-entry=PVH64");
    EXPECT_ERROR("--boot-entry '': expected auto, pvh32, pvh64 or linux64", "--boot-entry=");
    EXPECT_ERROR("--kernel-load 'lazy': expected auto, copy or stream", "--kernel", "k",
                 "--kernel-load", "lazy");
    EXPECT_ERROR("--kernel-load needs a value: --kernel-load auto|copy|stream", "--kernel", "k",
                 "--kernel-load");
    EXPECT_ERROR("--boot-entry needs a value: --boot-entry auto|pvh32|pvh64|linux64", "--kernel", "k",
                 "--boot-entry");
}

Test(options, bad_timeout)
{
    EXPECT_ERROR("--timeout 'soon': not a whole number", "--timeout", "soon");
    EXPECT_ERROR("--timeout '31536001': must be between 0 and 31536000", "--timeout", "31536001");
}

Test(options, bad_strings)
{
    char longpath[200];

    EXPECT_ERROR("--kernel '': must not be empty", "--kernel=");
    EXPECT_ERROR("--initrd '': must not be empty", "--kernel", "k", "--initrd", "");
    EXPECT_ERROR("--device '': must not be empty", "--device=");
    EXPECT_ERROR("--trace '': must not be empty", "--trace=");
    EXPECT_ERROR("--dump-dtb '': must not be empty", "--dump-dtb=");
    EXPECT_ERROR("--incoming '': must not be empty", "--incoming=");
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_eq(PARSE("--kernel", "k", "--api-socket", longpath), -EINVAL);
    cr_assert(strstr(err, "longer than a unix socket path can be (107)"), "%s", err);
}

Test(options, too_many_devices)
{
    const char *args[2 + 2 * (OPTIONS_DEVICES_MAX + 1) + 1] = {"minivmm", "--kernel=k"};
    int n = 2;

    for (int i = 0; i <= OPTIONS_DEVICES_MAX; i++) {
        args[n++] = "--device";
        args[n++] = "d";
    }
    args[n] = NULL;
    cr_assert_eq(parse(args), -EINVAL);
    cr_assert_str_eq(err, "--device 'd': at most 32 devices");
}

Test(options, missing_kernel)
{
    EXPECT_ERROR("missing --kernel PATH (see --help)", "--cpus", "2");
    cr_assert_eq(parse((const char *[]){"minivmm", NULL}), -EINVAL);
    cr_assert_str_eq(err, "missing --kernel PATH (see --help)");
}

Test(options, unknown_options_and_arguments)
{
    EXPECT_ERROR("unknown option '--bogus' (see --help)", "--kernel", "k", "--bogus");
    EXPECT_ERROR("unknown option '--bogus' (see --help)", "--bogus=1");
    EXPECT_ERROR("unknown option '-k' (see --help)", "-k", "x");
    EXPECT_ERROR("unknown option '--kern' (see --help)", "--kern", "x");
    EXPECT_ERROR("unexpected argument 'bzImage' (options start with --)", "bzImage");
    EXPECT_ERROR("--help takes no value", "--help=yes");
    EXPECT_ERROR("--print-firmware-path takes no value", "--print-firmware-path=1");
}

Test(options, missing_values)
{
    EXPECT_ERROR("--kernel needs a value: --kernel PATH", "--kernel");
    EXPECT_ERROR("--memory needs a value: --memory SIZE[,hugepages=on|off]", "--kernel", "k",
                 "--memory");
    EXPECT_ERROR("--initrd needs a value: --initrd PATH", "--kernel", "k", "--initrd", "--cpus",
                 "2");
    EXPECT_ERROR("--kernel needs a value: --kernel PATH", "--kernel", "--cmdline=x");
}

Test(options, error_buffer_is_bounded)
{
    char small[16];
    const char *args[] = {"minivmm", "--cpu-model", "a-very-long-bad-value", NULL};

    cr_assert_eq(options_parse(3, (char **)args, &opts, small, sizeof(small)), -EINVAL);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
}

Test(options, usage_mentions_every_option)
{
    static const char *const names[] = {
        "--kernel",
        "--initrd",
        "--cmdline",
        "--memory",
        "--cpus",
        "--cpu-model",
        "--boot-entry",
        "--serial",
        "--device",
        "--trace",
        "--api-socket",
        "--incoming",
        "--dump-dtb",
        "--print-firmware-path",
        "--log-level",
        "--timeout",
        "--help",
        "--version",
    };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    options_usage(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_assert_not_null(strstr(text, names[i]), "%s missing from --help", names[i]);
    free(text);
}
