/* Who wrote a value: a registry of component images and their writers.
 *
 * Every time a task's instruction leaves a new image of a component in its
 * shadow (and every time kernel FPU code clobbers registers), the image's
 * hash is recorded with the writer's id. When a running task observes an
 * image that differs from its shadow, the registry tells whether the bytes
 * are another task's (or the kernel's) value -- a LEAK -- or a value the
 * task itself held earlier, the initial configuration, or bytes nobody ever
 * wrote -- a CORRUPTION. Tagging the value itself, rather than the
 * register, follows it through any number of saves and restores.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

struct sim_value {
	uint64_t key;          /* hash of the image, 0 = empty slot */
	uint64_t tasks;        /* bit i: task id i (1..63) wrote it */
	uint16_t first;        /* first writer (task id or SIM_WRITER_KERNEL) */
	uint8_t comp;
	bool kernel;           /* the kernel wrote it too */
	bool high_ids;         /* a task with id >= 64 wrote it */
};

struct sim_values {
	struct sim_value *slot;
	size_t cap, n;         /* cap is a power of two */
	uint64_t init_key[64]; /* image hash of each component's initial configuration */
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDULL;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ULL;
	h ^= h >> 33;
	return h;
}

/* Hash of the compared bytes of comp as cpu holds them. */
static uint64_t image_key(const struct sim_machine *m, const struct xs_cpu *cpu, unsigned comp)
{
	struct sim_range r[4];
	unsigned nr = sim_comp_ranges(m, comp, r);
	const uint8_t *img = xs_comp_regs(cpu, comp);
	uint64_t h = 0x9E3779B97F4A7C15ULL * (comp + 1);

	if (!img)
		return 0;
	for (unsigned i = 0; i < nr; i++) {
		const uint8_t *p = img + r[i].off;
		size_t n = r[i].len, j = 0;
		for (; j + 8 <= n; j += 8) {
			uint64_t w;
			memcpy(&w, p + j, 8);
			h = mix(h ^ w) + j;
		}
		for (; j < n; j++)
			h = mix(h ^ p[j]) + j;
	}
	return h ? h : 1;
}

static struct sim_value *lookup(const struct sim_values *v, uint64_t key)
{
	size_t i;

	if (!v->cap)
		return NULL;
	for (i = key & (v->cap - 1);; i = (i + 1) & (v->cap - 1)) {
		if (v->slot[i].key == key)
			return &v->slot[i];
		if (!v->slot[i].key)
			return &v->slot[i];
	}
}

static int grow(struct sim_values *v)
{
	size_t cap = v->cap ? v->cap * 2 : 1024;
	struct sim_value *old = v->slot, *n = calloc(cap, sizeof(*n));
	size_t oldcap = v->cap;

	if (!n)
		return -1;
	v->slot = n;
	v->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*lookup(v, old[i].key) = old[i];
	free(old);
	return 0;
}

struct sim_values *sim_values_new(const struct sim_machine *m, const struct xs_cpu *init_cpu)
{
	struct sim_values *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	for (unsigned c = 0; c < 64; c++)
		if (xs_comp_regs(init_cpu, c))
			v->init_key[c] = image_key(m, init_cpu, c);
	return v;
}

void sim_values_free(struct sim_values *v)
{
	if (!v)
		return;
	free(v->slot);
	free(v);
}

void sim_values_note(struct sim_machine *m, const struct xs_cpu *cpu, unsigned comp,
		     unsigned writer)
{
	struct sim_values *v = m->values;
	uint64_t key;
	struct sim_value *e;

	if (!v || !m->check.values)
		return;
	key = image_key(m, cpu, comp);
	if (!v || !m->check.values || !key || key == v->init_key[comp])
		return;
	if ((v->n + 1) * 2 > v->cap && grow(v))
		return; /* out of memory: the value stays untagged, reported as "nobody" */
	e = lookup(v, key);
	if (!e->key) {
		e->key = key;
		e->comp = (uint8_t)comp;
		e->first = (uint16_t)writer;
		v->n++;
	}
	if (writer == SIM_WRITER_KERNEL)
		e->kernel = true;
	else if (writer < 64)
		e->tasks |= 1ULL << writer;
	else
		e->high_ids = true;
}

unsigned sim_value_writer(const struct sim_machine *m, const struct xs_cpu *cpu, unsigned comp,
			  unsigned self, bool *self_too)
{
	const struct sim_values *v = m->values;
	uint64_t key = image_key(m, cpu, comp);
	const struct sim_value *e;

	*self_too = false;
	if (!v || !key)
		return SIM_WRITER_NONE;
	if (key == v->init_key[comp])
		return SIM_WRITER_INIT;
	e = lookup(v, key);
	if (!e || !e->key)
		return SIM_WRITER_NONE;
	if (self && self < 64)
		*self_too = (e->tasks >> self) & 1;
	else if (self)
		*self_too = e->first == self;
	/* Prefer naming someone other than self: that is the interesting writer. */
	if (e->first != self)
		return e->first;
	for (unsigned i = 1; i < 64; i++)
		if (i != self && ((e->tasks >> i) & 1))
			return i;
	if (e->kernel)
		return SIM_WRITER_KERNEL;
	return e->first;
}

const char *sim_writer_name(const struct sim_machine *m, unsigned writer, char *buf, size_t len)
{
	switch (writer) {
	case SIM_WRITER_NONE:
		return "nobody";
	case SIM_WRITER_KERNEL:
		return "kernel";
	case SIM_WRITER_INIT:
		return "init";
	}
	if (sim_kvm_writer_name(m, writer, buf, len)) /* KVM guests (verbs_kvm.c) */
		return buf;
	if (writer >= 1 && writer <= m->ntasks)
		snprintf(buf, len, "%s", m->tasks[writer - 1]->name);
	else
		snprintf(buf, len, "task#%u", writer);
	return buf;
}
