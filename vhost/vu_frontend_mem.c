/*
 * Guest memory as the back-end sees it (vhost-user.md §9): SET_MEM_TABLE, ADD/REM_MEM_REG and
 * the dirty-log base. Regions are checked here against what strict back-ends reject (§15
 * items 6-9, pitfall 13) so a mistake is a clear local error, not a back-end panic.
 */
#include "vu_frontend_int.h"

#include <errno.h>
#include <sys/stat.h>

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Checks r on its own and against the tracked regions (S-NEW: no overlap in either space). */
static int check_region(struct vu_frontend *fe, const struct vu_region *r, const char *req,
                        const struct vu_region *others, unsigned int n)
{
    struct stat st;

    if (r->fd < 0)
        return vu_frontend_fail(fe, -EBADF,
                                "%s: region gpa=0x%llx has no fd (guest RAM must "
                                "be a shared memfd or file)",
                                req, (unsigned long long)r->gpa);
    if (r->size == 0 || r->gpa + r->size < r->gpa || r->uaddr + r->size < r->uaddr ||
        r->mmap_offset + r->size < r->mmap_offset)
        return vu_frontend_fail(fe, -EINVAL,
                                "%s: region gpa=0x%llx size=0x%llx is empty or "
                                "wraps",
                                req, (unsigned long long)r->gpa, (unsigned long long)r->size);
    /* Back-ends map mmap_offset + size from offset 0 of the fd. */
    if (fstat(r->fd, &st) < 0)
        return vu_frontend_fail(fe, -errno, "%s: fstat region fd %d", req, r->fd);
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->mmap_offset + r->size)
        return vu_frontend_fail(fe, -EINVAL,
                                "%s: region gpa=0x%llx: fd %d is shorter than "
                                "mmap_offset + size",
                                req, (unsigned long long)r->gpa, r->fd);
    for (unsigned int i = 0; i < n; i++) {
        if (overlaps(r->gpa, r->size, others[i].gpa, others[i].size) ||
            overlaps(r->uaddr, r->size, others[i].uaddr, others[i].size))
            return vu_frontend_fail(fe, -EINVAL, "%s: region gpa=0x%llx overlaps gpa=0x%llx", req,
                                    (unsigned long long)r->gpa, (unsigned long long)others[i].gpa);
    }
    return 0;
}

static struct vu_wire_region wire_region(const struct vu_region *r)
{
    return (struct vu_wire_region){
        .gpa = r->gpa, .size = r->size, .uaddr = r->uaddr, .mmap_offset = r->mmap_offset};
}

int vu_frontend_set_mem_table(struct vu_frontend *fe, const struct vu_region *r, unsigned int n)
{
    struct vu_wire_region wire[VU_MEM_MAX_REGIONS];
    int fds[VU_MEM_MAX_REGIONS];
    int ret = vu_frontend_gate(fe, VU_FE_NO_GATE, VU_REQ_SET_MEM_TABLE);

    if (ret < 0)
        return ret;
    if (n == 0 || n > VU_MEM_MAX_REGIONS)
        return vu_frontend_fail(fe, -EINVAL, "SET_MEM_TABLE: %u regions (1..%u)", n,
                                VU_MEM_MAX_REGIONS);
    for (unsigned int i = 0; i < n; i++) {
        ret = check_region(fe, &r[i], "SET_MEM_TABLE", r, i);
        if (ret < 0)
            return ret;
        wire[i] = wire_region(&r[i]);
        fds[i] = r[i].fd;
    }
    ret = vu_req_set_mem_table(&fe->conn, wire, fds, n, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_MEM_TABLE (%u regions)", n);
    for (unsigned int i = 0; i < n; i++)
        fe->regions[i] = r[i];
    fe->nregions = n;
    fe->mem_set = true;
    return 0;
}

int vu_frontend_add_mem_region(struct vu_frontend *fe, const struct vu_region *r)
{
    struct vu_wire_region wire = wire_region(r);
    int ret = vu_frontend_gate(fe, VU_PF_CONFIGURE_MEM_SLOTS, VU_REQ_ADD_MEM_REG);

    if (ret < 0)
        return ret;
    if (fe->nregions >= VU_FE_MAX_REGIONS || fe->nregions >= fe->max_mem_slots)
        return vu_frontend_fail(fe, -ENOSPC, "ADD_MEM_REG: %u regions already (limit %llu)",
                                fe->nregions, (unsigned long long)fe->max_mem_slots);
    ret = check_region(fe, r, "ADD_MEM_REG", fe->regions, fe->nregions);
    if (ret < 0)
        return ret;
    ret = vu_req_add_mem_reg(&fe->conn, &wire, r->fd, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "ADD_MEM_REG gpa=0x%llx",
                                      (unsigned long long)r->gpa);
    fe->regions[fe->nregions++] = *r;
    fe->mem_set = true;
    return 0;
}

int vu_frontend_rem_mem_region(struct vu_frontend *fe, const struct vu_region *r)
{
    struct vu_wire_region wire = wire_region(r);
    unsigned int i;
    int ret = vu_frontend_gate(fe, VU_PF_CONFIGURE_MEM_SLOTS, VU_REQ_REM_MEM_REG);

    if (ret < 0)
        return ret;
    /* Back-ends match gpa + size + uaddr; removing an unknown region panics libvhost-user. */
    for (i = 0; i < fe->nregions; i++)
        if (fe->regions[i].gpa == r->gpa && fe->regions[i].size == r->size &&
            fe->regions[i].uaddr == r->uaddr)
            break;
    if (i == fe->nregions)
        return vu_frontend_fail(fe, -ENOENT, "REM_MEM_REG gpa=0x%llx: no such region",
                                (unsigned long long)r->gpa);
    wire.mmap_offset = 0; /* ignored by back-ends; QEMU sends 0 */
    ret = vu_req_rem_mem_reg(&fe->conn, &wire, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "REM_MEM_REG gpa=0x%llx",
                                      (unsigned long long)r->gpa);
    fe->regions[i] = fe->regions[--fe->nregions];
    return 0;
}

int vu_frontend_set_log_base(struct vu_frontend *fe, const struct vu_dirty_log *log)
{
    int ret = vu_frontend_gate(fe, VU_PF_LOG_SHMFD, VU_REQ_SET_LOG_BASE);

    if (ret < 0)
        return ret;
    if (log->fd < 0 || log->size == 0)
        return vu_frontend_fail(fe, -EINVAL, "SET_LOG_BASE: no log");
    /* LOG_SHMFD: the back-end always replies (no NEED_REPLY: never two replies). */
    ret = vu_req_set_log_base(&fe->conn, log->size, 0, log->fd);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_LOG_BASE size=%llu",
                                      (unsigned long long)log->size);
    fe->log_base_set = true;
    return 0;
}
