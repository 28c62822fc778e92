/*
 * Linear probing over a power-of-two table, at most 3/4 full.  Each slot
 * holds the key's hash (0 marks an empty slot, so stored hashes are forced
 * odd), then the key, then the value, so a probe touches one cache line
 * for the small keys logaudit uses.
 */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"
#include "xmalloc.h"

struct hmap {
	size_t		 key_len;	/* bytes */
	size_t		 val_len;	/* bytes */
	size_t		 slot_len;	/* hash + key + value, aligned to 8 */
	size_t		 cap;		/* slots, a power of two */
	size_t		 count;		/* occupied slots */
	unsigned char	*slots;
};

#define HMAP_MIN_CAP	16

static inline uint64_t *
hmap_slot(const struct hmap *m, size_t i)
{
	return ((uint64_t *)(m->slots + i * m->slot_len));
}

struct hmap *
hmap_new(size_t key_len, size_t val_len)
{
	struct hmap	*m;

	m = xcalloc(1, sizeof(*m));
	m->key_len = key_len;
	m->val_len = val_len;
	m->slot_len = (8 + key_len + val_len + 7) & ~(size_t)7;
	m->cap = HMAP_MIN_CAP;
	m->slots = xcalloc(m->cap, m->slot_len);
	return (m);
}

void
hmap_free(struct hmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

static inline uint64_t
hmap_hash(const struct hmap *m, const void *key)
{
	return (hash64(key, m->key_len, 0) | 1);
}

static size_t
hmap_find(const struct hmap *m, const void *key, uint64_t h, int *found)
{
	size_t		 mask = m->cap - 1, i = h & mask;
	uint64_t	*s;

	for (;;) {
		s = hmap_slot(m, i);
		if (*s == 0) {
			*found = 0;
			return (i);
		}
		if (*s == h && memcmp(s + 1, key, m->key_len) == 0) {
			*found = 1;
			return (i);
		}
		i = (i + 1) & mask;
	}
}

void *
hmap_get(const struct hmap *m, const void *key)
{
	uint64_t	 h = hmap_hash(m, key);
	size_t		 i;
	int		 found;

	i = hmap_find(m, key, h, &found);
	if (!found)
		return (NULL);
	return ((unsigned char *)(hmap_slot(m, i) + 1) + m->key_len);
}

static void
hmap_grow(struct hmap *m)
{
	unsigned char	*old = m->slots;
	size_t		 old_cap = m->cap, i, j;
	uint64_t	*s;
	int		 found;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, m->slot_len);
	for (i = 0; i < old_cap; i++) {
		s = (uint64_t *)(old + i * m->slot_len);
		if (*s == 0)
			continue;
		j = hmap_find(m, s + 1, *s, &found);
		memcpy(hmap_slot(m, j), s, m->slot_len);
	}
	free(old);
}

void *
hmap_put(struct hmap *m, const void *key, int *is_new)
{
	uint64_t	 h = hmap_hash(m, key), *s;
	size_t		 i;
	int		 found;

	i = hmap_find(m, key, h, &found);
	if (!found && (m->count + 1) * 4 > m->cap * 3) {
		hmap_grow(m);
		i = hmap_find(m, key, h, &found);
	}
	s = hmap_slot(m, i);
	if (!found) {
		*s = h;
		memcpy(s + 1, key, m->key_len);
		memset((unsigned char *)(s + 1) + m->key_len, 0, m->val_len);
		m->count++;
	}
	if (is_new != NULL)
		*is_new = !found;
	return ((unsigned char *)(s + 1) + m->key_len);
}

size_t
hmap_count(const struct hmap *m)
{
	return (m->count);
}

size_t
hmap_bytes(const struct hmap *m)
{
	return (m->cap * m->slot_len);
}

void
hmap_clear(struct hmap *m)
{
	if (m->cap > HMAP_MIN_CAP) {
		free(m->slots);
		m->cap = HMAP_MIN_CAP;
		m->slots = xcalloc(m->cap, m->slot_len);
	} else
		memset(m->slots, 0, m->cap * m->slot_len);
	m->count = 0;
}

int
hmap_next(const struct hmap *m, size_t *iter, const void **key, void **val)
{
	uint64_t	*s;

	while (*iter < m->cap) {
		s = hmap_slot(m, (*iter)++);
		if (*s == 0)
			continue;
		*key = s + 1;
		*val = (unsigned char *)(s + 1) + m->key_len;
		return (1);
	}
	return (0);
}
