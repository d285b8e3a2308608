/* The simulator's own random source: xoshiro256** seeded through
 * splitmix64 (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", 2018). Never rand(): a scenario and a seed must give the same
 * trace on every libc. */
#include "xstate/sim.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void sim_prng_seed(struct sim_prng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_prng_next(struct sim_prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n) without modulo bias (Lemire's multiply-shift with
 * rejection). n == 0 returns 0. */
uint64_t sim_prng_below(struct sim_prng *r, uint64_t n)
{
	unsigned __int128 p;
	uint64_t lo, t;

	if (n == 0)
		return 0;
	p = (unsigned __int128)sim_prng_next(r) * n;
	lo = (uint64_t)p;
	if (lo < n) {
		t = -n % n;
		while (lo < t) {
			p = (unsigned __int128)sim_prng_next(r) * n;
			lo = (uint64_t)p;
		}
	}
	return (uint64_t)(p >> 64);
}
