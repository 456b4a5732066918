/*
 * Flattened device tree walker (read-only, see dt.h). Format: a header of
 * big-endian u32 fields, a structure block of 4-byte-aligned tokens
 * (BEGIN_NODE name, PROP len nameoff value, END_NODE, NOP, END) and a
 * strings block holding property names.
 */
#include "dt.h"
#include "fw_errno.h"
#include "lib.h"

#define FDT_MAGIC      0xd00dfeedU
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

struct fdt_header {
    uint32_t magic, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap;
    uint32_t version, last_comp_version, boot_cpuid_phys, size_dt_strings, size_dt_struct;
};

uint32_t dt_be32(const void *p)
{
    const uint8_t *b = p;

    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t dt_be64(const void *p)
{
    return (uint64_t)dt_be32(p) << 32 | dt_be32((const uint8_t *)p + 4);
}

uint64_t dt_cells(const void *p, unsigned int cells)
{
    return cells == 2 ? dt_be64(p) : dt_be32(p);
}

int dt_compatible(const void *value, uint32_t len, const char *s)
{
    const char *v = value;
    size_t slen = strlen(s);

    for (uint32_t i = 0; i < len;) {
        size_t n = strnlen(v + i, len - i);
        if (n == slen && memcmp(v + i, s, n) == 0 && i + n < len)
            return 1;
        i += (uint32_t)n + 1;
    }
    return 0;
}

static uint32_t field(const void *blob, unsigned int index)
{
    return dt_be32((const uint8_t *)blob + 4 * index);
}

int dt_check(const void *blob, size_t max)
{
    uint32_t total, sto, sts, stro, strs;

    if (max < sizeof(struct fdt_header) || field(blob, 0) != FDT_MAGIC)
        return -EINVAL;
    total = field(blob, 1);
    sto = field(blob, 2);
    stro = field(blob, 3);
    strs = field(blob, 8);
    sts = field(blob, 9);
    /* Version 17 headers carry size_dt_struct; 16 is compatible with it (last_comp_version). */
    if (field(blob, 5) < 17 || field(blob, 6) > 17)
        return -EINVAL;
    if (total > max || total < sizeof(struct fdt_header) || sto % 4)
        return -EINVAL;
    if (sto > total || sts > total - sto || stro > total || strs > total - stro)
        return -EINVAL;
    return 0;
}

/* Cursor over the structure block. */
struct walk {
    const uint8_t *p, *end;
    const char *strings;
    uint32_t strings_size;
};

static int take_u32(struct walk *w, uint32_t *out)
{
    if (w->end - w->p < 4)
        return -EINVAL;
    *out = dt_be32(w->p);
    w->p += 4;
    return 0;
}

/* Skips n bytes rounded up to the 4-byte token alignment. */
static int skip(struct walk *w, uint32_t n)
{
    uint64_t padded = ((uint64_t)n + 3) & ~3ULL;

    if ((uint64_t)(w->end - w->p) < padded)
        return -EINVAL;
    w->p += padded;
    return 0;
}

static int token_prop(struct walk *w, const struct dt_visitor *v, unsigned int depth)
{
    uint32_t len, nameoff;
    const uint8_t *value;

    if (take_u32(w, &len) || take_u32(w, &nameoff) || nameoff >= w->strings_size)
        return -EINVAL;
    if (strnlen(w->strings + nameoff, w->strings_size - nameoff) == w->strings_size - nameoff)
        return -EINVAL; /* name not terminated inside the strings block */
    value = w->p;
    if (skip(w, len))
        return -EINVAL;
    if (v->prop)
        v->prop(v->ctx, depth, w->strings + nameoff, value, len);
    return 0;
}

static int token_begin(struct walk *w, const struct dt_visitor *v, unsigned int depth)
{
    const char *name = (const char *)w->p;
    size_t n = strnlen(name, (size_t)(w->end - w->p));

    if (n == (size_t)(w->end - w->p) || depth >= DT_MAX_DEPTH)
        return -EINVAL;
    if (skip(w, (uint32_t)n + 1))
        return -EINVAL;
    if (v->begin_node)
        v->begin_node(v->ctx, depth, name);
    return 0;
}

int dt_walk(const void *blob, const struct dt_visitor *v)
{
    const uint8_t *b = blob;
    struct walk w = {
        .p = b + field(blob, 2),
        .end = b + field(blob, 2) + field(blob, 9),
        .strings = (const char *)b + field(blob, 3),
        .strings_size = field(blob, 8),
    };
    unsigned int depth = 0; /* nodes currently open */
    uint32_t token;

    while (take_u32(&w, &token) == 0) {
        switch (token) {
        case FDT_BEGIN_NODE:
            if (token_begin(&w, v, depth))
                return -EINVAL;
            depth++;
            break;
        case FDT_PROP:
            if (depth == 0 || token_prop(&w, v, depth - 1))
                return -EINVAL;
            break;
        case FDT_END_NODE:
            if (depth == 0)
                return -EINVAL;
            depth--;
            if (v->end_node)
                v->end_node(v->ctx, depth);
            break;
        case FDT_NOP:
            break;
        case FDT_END:
            return depth == 0 ? 0 : -EINVAL;
        default:
            return -EINVAL;
        }
    }
    return -EINVAL; /* ran off the block without FDT_END */
}
