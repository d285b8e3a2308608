/* Simulated user memory: the address space signal frames, sigreturn and
 * arch_prctl's GET options access (Linux: copy_to_user()/XSAVE to user
 * pages). A few page-aligned regions of real bytes; anything else faults.
 *
 * Host bytes are page aligned like the virtual base, so an address and its
 * bytes agree modulo 64: the model CPU's XSAVE alignment check (#GP on an
 * area not 64-byte aligned) sees the same alignment a real CPU would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/abi_internal.h"

void xk_umem_init(struct xk_umem *mm)
{
	memset(mm, 0, sizeof(*mm));
}

static bool overlaps(const struct xk_uregion *r, uint64_t base, uint64_t size)
{
	return base < r->base + r->size && r->base < base + size;
}

int xk_umem_map(struct xk_umem *mm, uint64_t base, uint64_t size, const char *name)
{
	struct xk_uregion *r;
	uint8_t *bytes;

	if (!size || (base & (XK_PAGE_SIZE - 1)) || size > XK_TASK_SIZE_MAX ||
	    base > XK_TASK_SIZE_MAX - size)
		return -EINVAL;
	size = (size + XK_PAGE_SIZE - 1) & ~(uint64_t)(XK_PAGE_SIZE - 1);
	if (base > XK_TASK_SIZE_MAX - size)
		return -EINVAL;
	for (unsigned i = 0; i < mm->n; i++)
		if (overlaps(&mm->r[i], base, size))
			return -EEXIST;
	if (mm->n >= XK_UMEM_REGIONS)
		return -ENOSPC;
	/* Anonymous pages: page aligned, zero-filled on first touch. (The
	 * checker issue, helper I: aligned_alloc + memset of every 512 KiB
	 * stack made page faults the explorer's main cost.) */
	bytes = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (bytes == MAP_FAILED)
		return -ENOMEM;
	r = &mm->r[mm->n++];
	r->base = base;
	r->size = size;
	r->bytes = bytes;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	return 0;
}

int xk_umem_unmap(struct xk_umem *mm, uint64_t base)
{
	for (unsigned i = 0; i < mm->n; i++) {
		if (mm->r[i].base != base)
			continue;
		munmap(mm->r[i].bytes, (size_t)mm->r[i].size);
		mm->r[i] = mm->r[--mm->n];
		memset(&mm->r[mm->n], 0, sizeof(mm->r[mm->n]));
		return 0;
	}
	return -ENOENT;
}

void xk_umem_free(struct xk_umem *mm)
{
	for (unsigned i = 0; i < mm->n; i++)
		munmap(mm->r[i].bytes, (size_t)mm->r[i].size);
	xk_umem_init(mm);
}

static const struct xk_uregion *region_of(const struct xk_umem *mm, uint64_t addr)
{
	if (!mm)
		return NULL;
	for (unsigned i = 0; i < mm->n; i++)
		if (addr >= mm->r[i].base && addr - mm->r[i].base < mm->r[i].size)
			return &mm->r[i];
	return NULL;
}

uint8_t *xk_umem_ptr(const struct xk_umem *mm, uint64_t addr, uint64_t len)
{
	const struct xk_uregion *r = region_of(mm, addr);

	if (!r || len > r->size - (addr - r->base))
		return NULL;
	return r->bytes + (addr - r->base);
}

uint64_t xk_umem_avail(const struct xk_umem *mm, uint64_t addr)
{
	const struct xk_uregion *r = region_of(mm, addr);

	return r ? r->size - (addr - r->base) : 0;
}

int xk_copy_to_user(struct xk_umem *mm, uint64_t addr, const void *src, size_t len)
{
	uint8_t *p = xk_access_ok(addr, len) ? xk_umem_ptr(mm, addr, len) : NULL;

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int xk_copy_from_user(const struct xk_umem *mm, void *dst, uint64_t addr, size_t len)
{
	const uint8_t *p = xk_access_ok(addr, len) ? xk_umem_ptr(mm, addr, len) : NULL;

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

/* access_ok(): the range lies below TASK_SIZE_MAX (include/asm-generic
 * access_ok, x86 valid_user_address). */
bool xk_access_ok(uint64_t addr, uint64_t len)
{
	return len <= XK_TASK_SIZE_MAX && addr <= XK_TASK_SIZE_MAX - len;
}
