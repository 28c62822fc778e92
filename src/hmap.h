/*
 * An open-addressing hash map of fixed-size keys to fixed-size values,
 * compared with memcmp.  Used for the store's in-memory deltas and the
 * dedup set, where keys are small structs of integers.  Value pointers
 * stay valid until the next hmap_put or hmap_clear.
 */
#ifndef HMAP_H
#define HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap;

struct hmap	*hmap_new(size_t key_len, size_t val_len);
void		 hmap_free(struct hmap *);	/* NULL is a no-op */
/* The value stored under key, or NULL. */
void		*hmap_get(const struct hmap *, const void *key);
/* The value under key, inserted zero-filled when absent (*is_new = 1). */
void		*hmap_put(struct hmap *, const void *key, int *is_new);
size_t		 hmap_count(const struct hmap *);
/* Bytes held by the table, for memory caps. */
size_t		 hmap_bytes(const struct hmap *);
void		 hmap_clear(struct hmap *);
/*
 * Iterate: start with *iter = 0; returns 1 and sets key and val while
 * entries remain.  The map must not change during the walk.
 */
int		 hmap_next(const struct hmap *, size_t *iter, const void **key,
		    void **val);

#endif
