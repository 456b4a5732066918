/*
 * Command-line parsing (see args.h). Words are split on spaces only; values
 * cannot contain spaces, which no test parameter needs.
 */
#include "args.h"
#include "lib.h"

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

uint64_t args_strtou64(const char *s, const char **end)
{
    unsigned int base = 10;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    while (digit_value(*s) < (int)base) {
        v = v * base + (uint64_t)digit_value(*s);
        s++;
    }
    switch (*s) {
    case 'K':
    case 'k':
        v <<= 10;
        s++;
        break;
    case 'M':
    case 'm':
        v <<= 20;
        s++;
        break;
    case 'G':
    case 'g':
        v <<= 30;
        s++;
        break;
    default:
        break;
    }
    if (end)
        *end = s;
    return v;
}

/* Returns the next space-separated word after *p (NULL at the end) and its length. */
static const char *next_word(const char **p, size_t *len)
{
    const char *s = *p, *word;

    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    word = s;
    while (*s && *s != ' ')
        s++;
    *len = (size_t)(s - word);
    *p = s;
    return word;
}

/* Finds the word "key=..." or "key"; returns its value (after '=', or "" for a bare key). */
static const char *find_value(const char *cmdline, const char *key, size_t *len)
{
    size_t klen = strlen(key), wlen;
    const char *p = cmdline, *word;

    for (size_t i = 0; i < klen; i++) {
        if (key[i] == '=' || key[i] == ' ')
            return NULL; /* not a key */
    }
    while ((word = next_word(&p, &wlen))) {
        if (wlen < klen || memcmp(word, key, klen) != 0)
            continue;
        if (wlen == klen) {
            *len = 0;
            return word + wlen;
        }
        if (word[klen] == '=') {
            *len = wlen - klen - 1;
            return word + klen + 1;
        }
    }
    return NULL;
}

bool args_get(const char *cmdline, const char *key, char *buf, size_t size)
{
    size_t len;
    const char *v = find_value(cmdline, key, &len);

    if (!v)
        return false;
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
    }
    return true;
}

uint64_t args_get_u64(const char *cmdline, const char *key, uint64_t def)
{
    char buf[32];
    const char *end;
    uint64_t v;

    if (!args_get(cmdline, key, buf, sizeof(buf)) || !buf[0])
        return def;
    v = args_strtou64(buf, &end);
    return *end ? def : v;
}

/* "SIZE@BASE:IRQ[:ID]" (Linux's virtio_mmio.device= syntax) of exactly len bytes. */
static bool parse_virtio_mmio(const char *s, size_t len, struct args_virtio_mmio *d)
{
    const char *end, *limit = s + len;

    d->size = args_strtou64(s, &end);
    if (end >= limit || *end != '@')
        return false;
    d->base = args_strtou64(end + 1, &end);
    if (end >= limit || *end != ':')
        return false;
    d->irq = (uint32_t)args_strtou64(end + 1, &end);
    return d->size != 0 && end <= limit && (end == limit || *end == ':');
}

bool args_virtio_mmio(const char *cmdline, unsigned int index, struct args_virtio_mmio *out)
{
    static const char key[] = "virtio_mmio.device=";
    const size_t klen = sizeof(key) - 1;
    const char *p = cmdline, *word;
    unsigned int seen = 0;
    size_t wlen;

    while ((word = next_word(&p, &wlen))) {
        struct args_virtio_mmio d;
        if (wlen <= klen || memcmp(word, key, klen) != 0)
            continue;
        if (!parse_virtio_mmio(word + klen, wlen - klen, &d))
            continue;
        if (seen++ == index) {
            *out = d;
            return true;
        }
    }
    return false;
}
