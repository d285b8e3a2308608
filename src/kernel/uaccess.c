/* Simulated user memory: the address space signal frames, sigreturn and
 * arch_prctl's GET options access (Linux: copy_to_user()/XSAVE to user
 * pages). A few page-aligned regions of real bytes; anything else faults.
 *
 * Host bytes are page aligned like the virtual base, so an address and its
 * bytes agree modulo 64: the model CPU's XSAVE alignment check (#GP on an
 * area not 64-byte aligned) sees the same alignment a real CPU would. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/abi_internal.h"

void xk_umem_init(struct xk_umem *mm)
{
	memset(mm, 0, sizeof(*mm));
}

/* A per-thread cache of unmapped regions. munmap() in a multithreaded
 * process (the explorer's --jobs) shoots down the TLBs of every CPU running
 * one of its threads; reusing the memory instead costs a memset of the part
 * that was used (a stack is used near its top). Added by the checker issue
 * (helper I) for the explorer's speed and scaling. */
#define UMEM_CACHE 32

struct umem_cached {
	uint8_t *bytes;
	uint64_t size, touched;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

struct umem_cache {
	struct umem_cached e[UMEM_CACHE];
	unsigned n;
};

static void cache_drain(void *arg)
{
	struct umem_cache *c = arg;

	for (unsigned i = 0; c && i < c->n; i++)
		munmap(c->e[i].bytes, (size_t)c->e[i].size);
	free(c);
}

static void cache_init(void)
{
	pthread_key_create(&cache_key, cache_drain);
}

static struct umem_cache *cache_get(void)
{
	struct umem_cache *c;

	pthread_once(&cache_once, cache_init);
	c = pthread_getspecific(cache_key);
	if (!c && (c = calloc(1, sizeof(*c))))
		pthread_setspecific(cache_key, c);
	return c;
}

static uint8_t *region_alloc(uint64_t size)
{
	struct umem_cache *c = cache_get();
	uint8_t *bytes;

	for (unsigned i = 0; c && i < c->n; i++) {
		if (c->e[i].size != size)
			continue;
		bytes = c->e[i].bytes;
		memset(bytes + c->e[i].touched, 0, (size_t)(size - c->e[i].touched));
		c->e[i] = c->e[--c->n];
		return bytes;
	}
	/* Anonymous pages: page aligned, zero-filled on first touch (not
	 * aligned_alloc + memset of every 512 KiB stack). */
	bytes = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		     0);
	return bytes == MAP_FAILED ? NULL : bytes;
}

static void region_release(struct xk_uregion *r)
{
	struct umem_cache *c = cache_get();

	if (c && c->n < UMEM_CACHE) {
		c->e[c->n++] = (struct umem_cached){ r->bytes, r->size, r->touched };
		return;
	}
	munmap(r->bytes, (size_t)r->size);
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
	bytes = region_alloc(size);
	if (!bytes)
		return -ENOMEM;
	r = &mm->r[mm->n++];
	r->base = base;
	r->size = size;
	r->bytes = bytes;
	r->touched = size;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	return 0;
}

int xk_umem_unmap(struct xk_umem *mm, uint64_t base)
{
	for (unsigned i = 0; i < mm->n; i++) {
		if (mm->r[i].base != base)
			continue;
		region_release(&mm->r[i]);
		mm->r[i] = mm->r[--mm->n];
		memset(&mm->r[mm->n], 0, sizeof(mm->r[mm->n]));
		return 0;
	}
	return -ENOENT;
}

void xk_umem_free(struct xk_umem *mm)
{
	for (unsigned i = 0; i < mm->n; i++)
		region_release(&mm->r[i]);
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
	uint64_t off;

	if (!r || len > r->size - (addr - r->base))
		return NULL;
	/* Callers read and write upwards from the pointer: remember the lowest
	 * one so a reused region is zeroed from there (region_alloc). The
	 * regions live in writable memory; only the API is const. */
	off = addr - r->base;
	if (off < r->touched)
		((struct xk_uregion *)r)->touched = off;
	return r->bytes + off;
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
